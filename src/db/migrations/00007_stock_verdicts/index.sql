-- The stock check at catalogue scale. The periodic full check (src/stock/fullCheck.ts)
-- keeps each product's last verdict here, chunk by chunk; a page of the stock check
-- sorts and filters on them (what needs attention first) and checks only its own
-- products live, writing their verdicts back. `attention` is the sort key:
-- 0 drift, 1 pending, 2 low stock, 3 in sync with enough stock.
create table stock_verdicts (
  product_id       bigint      primary key references products (id),
  status           text        not null check (status in ('in_sync', 'pending', 'drift')),
  attention        smallint    not null,
  available        bigint      not null,
  reserved         bigint      not null,
  sold             bigint      not null,
  restock_quantity bigint      not null,
  reason           text,
  checked_at       timestamptz not null
);
create index stock_verdicts_attention on stock_verdicts (attention, product_id);

-- The dashboard's sold-out and on-sale lists read the catalogue mirror directly.
create index products_sold_out on products (updated_date desc) where quantity <= 0;
create index products_sale_window on products (sale_ends_at)
  where sale_starts_at is not null or sale_ends_at is not null;
