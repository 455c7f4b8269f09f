--[[
  Records the payment of a checked-out order. The order becomes 'paid' (no
  longer open) and its reservation no longer expires.

  Resend rule: an order already paid with this payment id answers OK with that
  payment and changes nothing.

  Input:
    KEYS[1]    readiness marker
    KEYS[2]    order hash
    KEYS[3]    reservations sorted set
    KEYS[4]    events stream
    KEYS[5]    payment hash (new)
    KEYS[6]    open orders per customer hash
    KEYS[7..]  per line: product hash, customer-units hash

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
local k = { order = KEYS[2], reservations = KEYS[3], events = KEYS[4], openOrders = KEYS[6] }
local paymentKey = KEYS[5]

if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
local order, paired = loadOrder(k.order, { unpack(KEYS, 7) }, ARGV[1])
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
  endReservation(k, order, paired, 'expired', 'order_expired', now)
  return { 'EXPIRED' }
end

redis.call('HSET', paymentKey, 'id', ARGV[2], 'order_id', order.id, 'status', 'paid',
  'amount', order.total, 'payment_date', fmt(now), 'order_date', order.order_date, 'v', 1)
redis.call('HSET', k.order, 'status', 'paid', 'payment_id', ARGV[2], 'updated_at', fmt(now))
redis.call('HDEL', k.order, 'reserved_until')
redis.call('HINCRBY', k.order, 'v', 1)
redis.call('ZREM', k.reservations, order.id)
closeOpenOrder(k.openOrders, order.customer_id)
appendEvent(k.events, 'order_paid', now, eventFields(k.order, paymentKey, nil))
return { 'OK', cjson.encode(hashToTable(k.order)), cjson.encode(hashToTable(paymentKey)) }
