--[[
  Records the payment of a checked-out order. The order becomes 'paid' and its
  reservation no longer expires.

  Input:
    KEYS[1]    readiness marker
    KEYS[2]    order hash
    KEYS[3]    reservations sorted set
    KEYS[4]    events stream
    KEYS[5]    payment hash (new)
    KEYS[6..]  per line: product hash, customer-units hash

    ARGV[1]    the lines' product ids, comma separated
    ARGV[2]    payment id

  Output:
    {'OK', orderJson, paymentJson}     also when this payment id was recorded already (a resent call)
    {'REBUILDING'}                     Redis lost its data and is being rebuilt
    {'NOT_FOUND'}
    {'KEYS_MISMATCH'}
    {'INVALID_STATE', status}
    {'EXPIRED'}                        the reservation had run out; it is now released
]]
--- @include "orderLines"
local orderKey = KEYS[2]
local reservationsKey = KEYS[3]
local eventsKey = KEYS[4]
local paymentKey = KEYS[5]

if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
local order, paired = loadOrder(orderKey, { unpack(KEYS, 6) }, ARGV[1])
if not order then
  return paired
end
if order.status == 'paid' and order.payment_id == ARGV[2] then
  return { 'OK', cjson.encode(order), cjson.encode(hashToTable(paymentKey)) }
end
if order.status ~= 'checkout' then
  return { 'INVALID_STATE', order.status }
end

local now = nowMs()
if now >= tonumber(order.reserved_until) then
  endReservation(orderKey, reservationsKey, eventsKey, order, paired, 'expired', now)
  return { 'EXPIRED' }
end

redis.call('HSET', paymentKey, 'id', ARGV[2], 'order_id', order.id, 'status', 'paid',
  'amount', order.total, 'payment_date', fmt(now), 'order_date', order.order_date, 'v', 1)
redis.call('HSET', orderKey, 'status', 'paid', 'payment_id', ARGV[2], 'updated_at', fmt(now))
redis.call('HDEL', orderKey, 'reserved_until')
redis.call('HINCRBY', orderKey, 'v', 1)
redis.call('ZREM', reservationsKey, order.id)
appendEvent(eventsKey, 'order_paid', now, orderKey, paymentKey, nil)
return { 'OK', cjson.encode(hashToTable(orderKey)), cjson.encode(hashToTable(paymentKey)) }
