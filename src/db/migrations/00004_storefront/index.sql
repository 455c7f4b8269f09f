-- Sale windows, and the catalogue version that PATCH /products/{id} moves in
-- Redis: the write-behind applies a catalogue change only over an older one.
alter table products
  add column sale_starts_at    timestamptz,
  add column sale_ends_at      timestamptz,
  add column catalogue_version bigint not null default 0,
  add constraint products_sale_window check (sale_ends_at > sale_starts_at);
comment on column products.catalogue_version is
  'Version of the Redis catalogue fields this row reflects; guards against reordering.';

-- The open-order cap is rebuilt from here when Redis loses its data.
create index orders_open_by_customer on orders (customer_id)
  where status in ('draft', 'checkout') and customer_id is not null;
