-- What each repair (POST /api/v1/reconcile without dry_run) changed in Redis.
create table stock_reconciliations (
  id           uuid        primary key,
  product_id   bigint      not null references products (id),
  redis_before jsonb       not null,
  redis_after  jsonb       not null,
  created_date timestamptz not null default now()
);
create index stock_reconciliations_product_id on stock_reconciliations (product_id);
