-- The store spread over PARTITIONS partitions (each with its own hash tag, events
-- stream, readiness marker and rebuild). A product's partition is fixed when it is
-- created (its id modulo PARTITIONS) and kept here; an order lives in its home
-- partition. With PARTITIONS=1 everything is partition 0, as before.
alter table products add column partition integer not null default 0;
alter table orders add column partition integer not null default 0;
create index orders_open_by_partition on orders (partition)
  where status in ('draft', 'checkout', 'paid');

-- The rebuild fence, one row per partition: a rebuild of partition p moves only
-- p's epoch, and a write-behind batch read from p checks only p's.
create table partition_fences (
  partition integer primary key,
  epoch     bigint  not null
);
insert into partition_fences (partition, epoch) select 0, epoch from store_fence;
drop table store_fence;

-- How far the write-behind has read each partition's stream, per epoch.
alter table stream_positions add column partition integer not null default 0;
alter table stream_positions drop constraint stream_positions_pkey;
alter table stream_positions add primary key (partition, epoch);
