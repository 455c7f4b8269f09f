--[[
  Holds, in this partition, the lines of an order whose home is another
  partition: each line is checked as a checkout checks it (active, sale open,
  units available, the customer's limit) and then all of them are reserved,
  all or nothing. A checkout across partitions takes one hold per partition,
  in ascending order, then commits in the home partition (checkoutOrder.lua).
  A hold lasts until the reservation ends; the hold sweeper audits it after
  that (src/orders/holds.ts), against its order in the home partition.

  Resend rule: a hold that exists answers OK with its end and reserves nothing
  more. A hold released for this checkout attempt (ARGV[9]), or for the order
  as a whole, answers RELEASED, and a sold one SOLD: so a resend that arrives
  after the release cannot reserve again, while a later attempt to check out
  the same draft (after a refusal for want of stock, say) can.

  Input:
    KEYS[1]    readiness marker
    KEYS[2]    the hold's hash
    KEYS[3]    what became of the hold, once it ended
    KEYS[4]    holds index (order id scored by when to audit the hold, ms)
    KEYS[5]    events stream
    KEYS[6..]  per line: product hash, customer-units hash

    ARGV[1]    order id
    ARGV[2]    the order's home partition
    ARGV[3]    customer id, '' for none
    ARGV[4]    the lines held here: 'productId:quantity' joined by ','
    ARGV[5]    reservation TTL, ms (when ARGV[6] is '')
    ARGV[6]    when the hold ends, ms (set by the order's first hold), or ''
    ARGV[7]    how long after its end the sweeper audits a hold, ms
    ARGV[8]    most events the stream may hold before holds are refused
    ARGV[9]    this checkout attempt's id (each call of a checkout takes one)

  Output:
    {'OK', untilMs, 'NEW'}                   the hold is taken
    {'OK', untilMs, 'HELD'}                  the hold existed already (a resent call): nothing more
    {'REBUILDING'}                           this partition lost its data and is being rebuilt
    {'RELEASED'} | {'SOLD'}                  this attempt's hold, or the order's, already ended;
                                             nothing changed
    {'KEYS_MISMATCH'}
    {'PRODUCT_INACTIVE', productId}
    {'SALE_NOT_STARTED', productId, startsMs} | {'SALE_ENDED', productId, endsMs}
    {'OUT_OF_STOCK', productId, available}
    {'CUSTOMER_REQUIRED', productId}
    {'LIMIT_EXCEEDED', productId, limit, held}
    {'BACKLOG_FULL', backlog}
    {'HOLDS_EXPIRED'}                        ARGV[6] has passed already; nothing changed
]]
--- @include "holds"
local hold = { key = KEYS[2], done = KEYS[3], index = KEYS[4], events = KEYS[5] }
local customerId = ARGV[3]
local attempt = ARGV[9]

if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
local done = parseDone(redis.call('GET', hold.done))
if done and done.sold then
  return { 'SOLD' }
elseif done and releasedFor(done, attempt) then
  return { 'RELEASED' }
end
local held = redis.call('HGET', hold.key, 'until')
if held then
  return { 'OK', held, 'HELD' }
end
local paired = pairHoldLines(ARGV[4], { unpack(KEYS, 6) })
if not paired then
  return { 'KEYS_MISMATCH' }
end
local now = nowMs()
local untilMs = tonumber(ARGV[6]) or (now + tonumber(ARGV[5]))
if now >= untilMs then
  return { 'HOLDS_EXPIRED' }
end
local backlog = redis.call('XLEN', hold.events)
if backlog >= tonumber(ARGV[8]) then
  return { 'BACKLOG_FULL', backlog }
end

local counters = {}
for i, p in ipairs(paired) do
  local s = redis.call('HMGET', p.productKey, 'available', 'reserved', 'v', 'max_per_customer',
    'sale_starts', 'sale_ends', 'status')
  if s[7] ~= 'active' then
    return { 'PRODUCT_INACTIVE', p.product_id }
  end
  local closed, at = saleClosed(s[5], s[6], now)
  if closed then
    return { closed, p.product_id, at }
  end
  local left = tonumber(s[1] or '0')
  if p.quantity > left then
    return { 'OUT_OF_STOCK', p.product_id, left }
  end
  local limit = tonumber(s[4] or '')
  if limit then
    if customerId == '' then
      return { 'CUSTOMER_REQUIRED', p.product_id }
    end
    local units = tonumber(redis.call('HGET', p.unitsKey, customerId) or '0')
    if units + p.quantity > limit then
      return { 'LIMIT_EXCEEDED', p.product_id, limit, units }
    end
  end
  counters[i] = s
end

local stock = {}
for i, p in ipairs(paired) do
  redis.call('HINCRBY', p.productKey, 'available', -p.quantity)
  redis.call('HINCRBY', p.productKey, 'reserved', p.quantity)
  redis.call('HINCRBY', p.productKey, 'v', 1)
  if customerId ~= '' then
    redis.call('HINCRBY', p.unitsKey, customerId, p.quantity)
  end
  stock[i] = stockSnapshot(p.productKey, p.product_id)
end
local h = {
  order_id = ARGV[1],
  home = ARGV[2],
  customer_id = customerId,
  lines = ARGV[4],
  ['until'] = fmt(untilMs),
  status = 'held',
  -- After an earlier attempt's hold: newer than the version it ended at.
  v = fmt((done and done.v or 0) + 1),
  attempt = attempt,
}
redis.call('HSET', hold.key, 'order_id', h.order_id, 'home', h.home, 'customer_id', customerId,
  'lines', h.lines, 'until', h['until'], 'status', 'held', 'v', h.v, 'attempt', attempt)
redis.call('ZADD', hold.index, untilMs + tonumber(ARGV[7]), ARGV[1])
appendEvent(hold.events, 'stock_held', now, { 'hold', cjson.encode(h), 'stock', cjson.encode(stock) })
return { 'OK', h['until'], 'NEW' }
