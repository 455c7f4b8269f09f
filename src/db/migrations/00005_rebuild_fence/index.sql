-- The fence between a rebuild of Redis and the write-behind. Each rebuild moves
-- the epoch on before it reads Postgres, and marks the Redis it fills with it;
-- each write-behind batch locks the row (FOR SHARE) and checks it holds the
-- epoch of the Redis it read from. So the rebuild waits for every batch in
-- flight, and a batch read from a Redis that has since been rebuilt never commits.
create table store_fence (
  id    integer primary key default 1 check (id = 1),
  epoch bigint  not null
);
insert into store_fence (id, epoch) values (1, 1);
