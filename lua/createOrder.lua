--[[
  Creates a draft order. Availability is a soft check here: nothing is reserved.
  A customer may hold a limited number of open orders (drafts and checkouts).
  A product whose sale has ended is refused; one whose sale has not started yet
  may be put in a draft, ready for the moment checkout opens.

  An order whose lines span partitions keeps them all, and records `parts` and
  `home`, so every later script knows which lines are its own (the others are
  held in their partitions: holdLines.lua).

  Resend rule: the order id is made before the call. An order that exists already
  answers OK with itself and changes nothing.

  Input:
    KEYS[1]    readiness marker
    KEYS[2]    order hash (must not exist)
    KEYS[3]    events stream
    KEYS[4]    drafts sorted set (order id scored by when the draft expires, ms)
    KEYS[5]    open orders per customer hash
    KEYS[6..]  product hashes of the lines in this partition, in line order

    ARGV[1]    order id
    ARGV[2]    customer id, '' for none
    ARGV[3]    how long a draft lives, ms
    ARGV[4]    most events the stream may hold before new orders are refused
    ARGV[5]    most drafts the store may hold at once
    ARGV[6]    most open orders one customer may hold
    ARGV[7]    lines in other partitions: JSON object, product id -> [unit price, name,
               available units], checked there by inspectLines.lua; '' when there are none
    ARGV[8]    the store's partitions, when the order spans several (else '')
    ARGV[9]    the order's home partition (this one)
    ARGV[10..] one pair per line, in line order: product id, quantity

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
--- @include "draftLine"
local orderKey = KEYS[2]
local eventsKey = KEYS[3]
local draftsKey = KEYS[4]
local openOrdersKey = KEYS[5]
local orderId = ARGV[1]
local customerId = ARGV[2]
local remote = ARGV[7] ~= '' and cjson.decode(ARGV[7]) or {}
local FIRST_LINE = 10

if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
if redis.call('EXISTS', orderKey) == 1 then
  local products = {}
  local key = 6
  for i = FIRST_LINE, #ARGV, 2 do
    local productId = ARGV[i]
    if remote[productId] then
      products[productId] = { remote[productId][3], remote[productId][2] }
    else
      local p = redis.call('HMGET', KEYS[key], 'available', 'name')
      products[productId] = { tonumber(p[1] or '0'), p[2] or '' }
      key = key + 1
    end
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
local key = 6
for i = FIRST_LINE, #ARGV, 2 do
  local productId = ARGV[i]
  local quantity = tonumber(ARGV[i + 1])
  local line = remote[productId]
  if line then
    line = { price = line[1], name = line[2], left = line[3] }
  else
    local refusal
    line, refusal = checkDraftLine(KEYS[key], productId, quantity, customerId, now)
    if not line then
      return refusal
    end
    key = key + 1
  end
  total = total + line.price * quantity
  products[productId] = { line.left, line.name }
  lines[#lines + 1] = productId .. ':' .. fmt(quantity) .. ':' .. fmt(line.price)
end

redis.call('HSET', orderKey, 'id', orderId, 'status', 'draft', 'customer_id', customerId,
  'order_date', fmt(now), 'updated_at', fmt(now), 'total', fmt(total),
  'lines', table.concat(lines, ','), 'v', 1)
if ARGV[8] ~= '' then
  redis.call('HSET', orderKey, 'parts', ARGV[8], 'home', ARGV[9])
end
redis.call('ZADD', draftsKey, now + tonumber(ARGV[3]), orderId)
if customerId ~= '' then
  redis.call('HINCRBY', openOrdersKey, customerId, 1)
end
appendEvent(eventsKey, 'order_created', now, eventFields(orderKey, nil, nil))
return { 'OK', cjson.encode(hashToTable(orderKey)), cjson.encode(products) }
