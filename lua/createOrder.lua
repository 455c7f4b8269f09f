--[[
  Creates a draft order. Availability is a soft check here: nothing is reserved.

  Input:
    KEYS[1]    order hash (must not exist)
    KEYS[2]    events stream
    KEYS[3]    drafts sorted set (order id scored by when the draft expires, ms)
    KEYS[4..]  product hashes, one per line

    ARGV[1]    order id
    ARGV[2]    customer id, '' for none
    ARGV[3]    how long a draft lives, ms
    ARGV[4..]  one pair per line, in KEYS order: product id, quantity

  Output:
    {'OK', orderJson, availableJson}   availableJson maps product id -> available units;
                                       also when this order id exists already (a resent call)
    {'NOT_FOUND', productId}
    {'OUT_OF_STOCK', productId, available}
    {'CUSTOMER_REQUIRED', productId}
    {'LIMIT_EXCEEDED', productId, limit, 0}
]]
--- @include "common"
local orderKey = KEYS[1]
local eventsKey = KEYS[2]
local draftsKey = KEYS[3]
local orderId = ARGV[1]
local customerId = ARGV[2]

if redis.call('EXISTS', orderKey) == 1 then
  local left = {}
  for i = 4, #KEYS do
    left[ARGV[2 * i - 4]] = tonumber(redis.call('HGET', KEYS[i], 'available') or '0')
  end
  return { 'OK', cjson.encode(hashToTable(orderKey)), cjson.encode(left) }
end

local lines = {}
local available = {}
local total = 0
for i = 4, #KEYS do
  local productId = ARGV[2 * i - 4]
  local quantity = tonumber(ARGV[2 * i - 3])
  local p = redis.call('HMGET', KEYS[i], 'name', 'price', 'status', 'max_per_customer', 'available')
  if not p[5] or p[3] ~= 'active' then
    return { 'NOT_FOUND', productId }
  end
  local left = tonumber(p[5])
  if quantity > left then
    return { 'OUT_OF_STOCK', productId, left }
  end
  local limit = tonumber(p[4] or '')
  if limit and customerId == '' then
    return { 'CUSTOMER_REQUIRED', productId }
  end
  if limit and quantity > limit then
    return { 'LIMIT_EXCEEDED', productId, limit, 0 }
  end
  local price = tonumber(p[2])
  total = total + price * quantity
  available[productId] = left
  lines[#lines + 1] = {
    product_id = tonumber(productId),
    product_name = p[1],
    quantity = quantity,
    price = fmt(price),
    amount = fmt(price * quantity),
  }
end

local now = nowMs()
redis.call('HSET', orderKey, 'id', orderId, 'status', 'draft', 'customer_id', customerId,
  'order_date', fmt(now), 'updated_at', fmt(now), 'total', fmt(total),
  'lines', cjson.encode(lines), 'v', 1)
redis.call('ZADD', draftsKey, now + tonumber(ARGV[3]), orderId)
appendEvent(eventsKey, 'order_created', now, orderKey, nil, nil)
return { 'OK', cjson.encode(hashToTable(orderKey)), cjson.encode(available) }
