-- products.quantity and stock_version mirror Redis for outside reports. A
-- mirror must never make the record (orders, payments, ledger) fail to apply,
-- so it has no check of its own: the stock check reports a negative or odd
-- counter instead. Quantities are bigint with room to spare; restocks keep a
-- product's total stock within MAX_TOTAL_STOCK (src/products/schemas.ts).
alter table products drop constraint if exists products_quantity_check;
alter table products alter column quantity type bigint;
alter table stock_ledger alter column quantity type bigint;
