--[[
  Creates a draft order. Availability is a soft check here: nothing is reserved.
  A customer may hold a limited number of open orders (drafts and checkouts).
  A product whose sale has ended is refused; one whose sale has not started yet
  may be put in a draft, ready for the moment checkout opens.

  Resend rule: the order id is made before the call. An order that exists already
  answers OK with itself and changes nothing.

  Input:
    KEYS[1]    readiness marker
    KEYS[2]    order hash (must not exist)
    KEYS[3]    events stream
    KEYS[4]    drafts sorted set (order id scored by when the draft expires, ms)
    KEYS[5]    open orders per customer hash
    KEYS[6..]  product hashes, one per line

    ARGV[1]    order id
    ARGV[2]    customer id, '' for none
    ARGV[3]    how long a draft lives, ms
    ARGV[4]    most events the stream may hold before new orders are refused
    ARGV[5]    most drafts the store may hold at once
    ARGV[6]    most open orders one customer may hold
    ARGV[7..]  one pair per line, in KEYS order: product id, quantity

  Output:
    {'OK', orderJson, productsJson}   productsJson maps product id -> [available units, name];
                                      also when this order id exists already (a resent call)
    {'REBUILDING'}                    Redis lost its data and is being rebuilt
    {'BACKLOG_FULL', backlog}         Postgres is behind; refuse rather than fill Redis
    {'DRAFTS_FULL', drafts}           the store holds its most drafts
    {'TOO_MANY_OPEN_ORDERS', open, max}
    {'NOT_FOUND', productId}
    {'SALE_ENDED', productId, endsMs}
    {'OUT_OF_STOCK', productId, available}
    {'CUSTOMER_REQUIRED', productId}
    {'LIMIT_EXCEEDED', productId, limit, 0}
]]
--- @include "common"
local orderKey = KEYS[2]
local eventsKey = KEYS[3]
local draftsKey = KEYS[4]
local openOrdersKey = KEYS[5]
local orderId = ARGV[1]
local customerId = ARGV[2]
local FIRST_PRODUCT = 6

-- ARGV index of line i's product id (its quantity follows).
local function lineArg(i)
  return 2 * (i - FIRST_PRODUCT) + 7
end

if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
if redis.call('EXISTS', orderKey) == 1 then
  local products = {}
  for i = FIRST_PRODUCT, #KEYS do
    local p = redis.call('HMGET', KEYS[i], 'available', 'name')
    products[ARGV[lineArg(i)]] = { tonumber(p[1] or '0'), p[2] or '' }
  end
  return { 'OK', cjson.encode(hashToTable(orderKey)), cjson.encode(products) }
end
local backlog = redis.call('XLEN', eventsKey)
if backlog >= tonumber(ARGV[4]) then
  return { 'BACKLOG_FULL', backlog }
end
local drafts = redis.call('ZCARD', draftsKey)
if drafts >= tonumber(ARGV[5]) then
  return { 'DRAFTS_FULL', drafts }
end
if customerId ~= '' then
  local open = tonumber(redis.call('HGET', openOrdersKey, customerId) or '0')
  if open >= tonumber(ARGV[6]) then
    return { 'TOO_MANY_OPEN_ORDERS', open, ARGV[6] }
  end
end

local now = nowMs()
local lines = {}
local products = {}
local total = 0
for i = FIRST_PRODUCT, #KEYS do
  local productId = ARGV[lineArg(i)]
  local quantity = tonumber(ARGV[lineArg(i) + 1])
  local p = redis.call('HMGET', KEYS[i], 'name', 'price', 'status', 'max_per_customer', 'available',
    'sale_starts', 'sale_ends')
  if not p[5] or p[3] ~= 'active' then
    return { 'NOT_FOUND', productId }
  end
  local closed, at = saleClosed(p[6], p[7], now)
  if closed == 'SALE_ENDED' then
    return { closed, productId, at }
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
  products[productId] = { left, p[1] }
  lines[#lines + 1] = productId .. ':' .. fmt(quantity) .. ':' .. fmt(price)
end

redis.call('HSET', orderKey, 'id', orderId, 'status', 'draft', 'customer_id', customerId,
  'order_date', fmt(now), 'updated_at', fmt(now), 'total', fmt(total),
  'lines', table.concat(lines, ','), 'v', 1)
redis.call('ZADD', draftsKey, now + tonumber(ARGV[3]), orderId)
if customerId ~= '' then
  redis.call('HINCRBY', openOrdersKey, customerId, 1)
end
appendEvent(eventsKey, 'order_created', now, eventFields(orderKey, nil, nil))
return { 'OK', cjson.encode(hashToTable(orderKey)), cjson.encode(products) }
