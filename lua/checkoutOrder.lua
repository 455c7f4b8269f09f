--[[
  Reserves every line of a draft order, all or nothing, until now + TTL, while
  every product's sale window is open (by Redis time, so every instance agrees).
  Repeating the checkout of an order that still holds its reservation returns
  that reservation and reserves nothing more.

  The hot path: it reads the order once and each product once, writes each
  product with one HSET, and encodes the order once, for both the event and
  the reply.

  Resend rule: an order that still holds its reservation answers OK with it and
  reserves nothing more.

  Input:
    KEYS[1]    readiness marker
    KEYS[2]    order hash
    KEYS[3]    reservations sorted set (order id scored by expiry, ms)
    KEYS[4]    events stream
    KEYS[5]    drafts sorted set (the order leaves it)
    KEYS[6]    open orders per customer hash
    KEYS[7..]  per line: product hash, customer-units hash

    ARGV[1]    the lines' product ids, comma separated (checked against the order)
    ARGV[2]    reservation TTL, ms
    ARGV[3]    most events the stream may hold before checkouts are refused
    ARGV[4]    when the reservation ends, ms: set by the holds an order across
               partitions took first (holdLines.lua); '' to start it now

  Output:
    {'OK', orderJson, stockJson}             stockJson: the lines' products after this reservation
                                             (absent when the order already held its reservation)
    {'REBUILDING'}                           Redis lost its data and is being rebuilt
    {'NOT_FOUND'}
    {'KEYS_MISMATCH'}
    {'INVALID_STATE', status}
    {'EXPIRED'}                              the held reservation had run out; now released
    {'PRODUCT_INACTIVE', productId}          a line's product was set inactive after the draft was made
    {'SALE_NOT_STARTED', productId, startsMs}
    {'SALE_ENDED', productId, endsMs}
    {'OUT_OF_STOCK', productId, available}
    {'CUSTOMER_REQUIRED', productId}
    {'LIMIT_EXCEEDED', productId, limit, held}
    {'BACKLOG_FULL', backlog}                Postgres is behind; refuse rather than fill Redis
    {'HOLDS_EXPIRED'}                        the holds' time (ARGV[4]) ran out first; nothing changed
]]
--- @include "orderLines"
local k = { order = KEYS[2], reservations = KEYS[3], events = KEYS[4], openOrders = KEYS[6] }
local draftsKey = KEYS[5]

if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
local order, paired = loadOrder(k.order, { unpack(KEYS, 7) }, ARGV[1])
if not order then
  return paired
end

local now = nowMs()
if order.status == 'checkout' then
  if now < tonumber(order.reserved_until) then
    return { 'OK', cjson.encode(order) }
  end
  endReservation(k, order, paired, 'expired', 'order_expired', now)
  return { 'EXPIRED' }
end
if order.status ~= 'draft' then
  return { 'INVALID_STATE', order.status }
end
local heldUntil = tonumber(ARGV[4])
if heldUntil and now >= heldUntil then
  return { 'HOLDS_EXPIRED' }
end
local backlog = redis.call('XLEN', k.events)
if backlog >= tonumber(ARGV[3]) then
  return { 'BACKLOG_FULL', backlog }
end

-- Check every line before changing any.
local customerId = order.customer_id
local counters = {}
for i, p in ipairs(paired) do
  local s = redis.call('HMGET', p.productKey, 'available', 'reserved', 'sold', 'v',
    'max_per_customer', 'sale_starts', 'sale_ends', 'status')
  if s[8] ~= 'active' then
    return { 'PRODUCT_INACTIVE', p.line.product_id }
  end
  local closed, at = saleClosed(s[6], s[7], now)
  if closed then
    return { closed, p.line.product_id, at }
  end
  local left = tonumber(s[1] or '0')
  if p.line.quantity > left then
    return { 'OUT_OF_STOCK', p.line.product_id, left }
  end
  local limit = tonumber(s[5] or '')
  if limit then
    if customerId == '' then
      return { 'CUSTOMER_REQUIRED', p.line.product_id }
    end
    local held = tonumber(redis.call('HGET', p.unitsKey, customerId) or '0')
    if held + p.line.quantity > limit then
      return { 'LIMIT_EXCEEDED', p.line.product_id, limit, held }
    end
  end
  counters[i] = { available = left, reserved = tonumber(s[2]), sold = s[3], v = tonumber(s[4]) }
end

local stock = {}
for i, p in ipairs(paired) do
  local c = counters[i]
  local q = p.line.quantity
  local available, reserved, v = fmt(c.available - q), fmt(c.reserved + q), fmt(c.v + 1)
  redis.call('HSET', p.productKey, 'available', available, 'reserved', reserved, 'v', v)
  -- Counted for every product, so a limit set later counts what customers already hold.
  if customerId ~= '' then
    redis.call('HINCRBY', p.unitsKey, customerId, q)
  end
  stock[i] = { id = p.line.product_id, available = available, reserved = reserved, sold = c.sold, v = v }
end

local reservedUntil = fmt(heldUntil or (now + tonumber(ARGV[2])))
order.status = 'checkout'
order.reserved_until = reservedUntil
order.updated_at = fmt(now)
order.v = fmt(tonumber(order.v) + 1)
redis.call('HSET', k.order, 'status', order.status, 'reserved_until', reservedUntil,
  'updated_at', order.updated_at, 'v', order.v)
redis.call('ZADD', k.reservations, reservedUntil, order.id)
redis.call('ZREM', draftsKey, order.id)
local orderJson = cjson.encode(order)
local stockJson = cjson.encode(stock)
appendEvent(k.events, 'order_checkout', now, { 'order', orderJson, 'stock', stockJson })
return { 'OK', orderJson, stockJson }
