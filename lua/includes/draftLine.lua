--- @include "common"
-- Whether a line may go into a draft, read from its product's hash at `now`:
-- an active product whose sale has not ended, with the units asked for
-- available (a soft check: nothing is reserved), and a customer named when the
-- product limits units per customer. Returns the line's price, name and the
-- units available; or nil and the refusal.
local function checkDraftLine(productKey, productId, quantity, customerId, now)
  local p = redis.call('HMGET', productKey, 'name', 'price', 'status', 'max_per_customer', 'available',
    'sale_starts', 'sale_ends')
  if not p[5] or p[3] ~= 'active' then
    return nil, { 'NOT_FOUND', productId }
  end
  local closed, at = saleClosed(p[6], p[7], now)
  if closed == 'SALE_ENDED' then
    return nil, { closed, productId, at }
  end
  local left = tonumber(p[5])
  if quantity > left then
    return nil, { 'OUT_OF_STOCK', productId, left }
  end
  local limit = tonumber(p[4] or '')
  if limit and customerId == '' then
    return nil, { 'CUSTOMER_REQUIRED', productId }
  end
  if limit and quantity > limit then
    return nil, { 'LIMIT_EXCEEDED', productId, limit, 0 }
  end
  return { price = tonumber(p[2]), name = p[1], left = left }
end
