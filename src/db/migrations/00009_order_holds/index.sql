-- The holds of orders across partitions (src/orders/holds.ts): an order's lines in
-- a partition other than its home, reserved there and written by that partition's
-- stream. No foreign key to orders: a partition's stream may reach Postgres before
-- the home partition's. The stock check derives a product's reserved and sold
-- units from its home-partition order lines and from these rows.
create table order_holds (
  order_id    uuid        not null,
  partition   integer     not null,
  product_id  bigint      not null references products (id),
  customer_id text,
  quantity    integer     not null check (quantity > 0),
  status      text        not null check (status in ('held', 'released', 'sold')),
  held_until  timestamptz not null,
  version     integer     not null check (version > 0),
  primary key (order_id, product_id)
);
create index order_holds_product on order_holds (product_id);
create index order_holds_held on order_holds (partition) where status = 'held';

-- An order whose lines span partitions keeps every line in a hold; its order_details
-- then count through order_holds, not through the order's status.
alter table orders add column spans boolean not null default false;
