--[[
  Cancels a draft or checked-out order; a held reservation is released.

  Resend rule: an order this request id cancelled already answers OK once more and
  changes nothing.

  Input:
    KEYS[1]    readiness marker
    KEYS[2]    order hash
    KEYS[3]    reservations sorted set
    KEYS[4]    events stream
    KEYS[5]    drafts sorted set (a draft leaves it here)
    KEYS[6]    open orders per customer hash
    KEYS[7..]  per line: product hash, customer-units hash

    ARGV[1]    the lines' product ids, comma separated
    ARGV[2]    request id: the same call sent again (after a reconnect) answers OK once more

  Output:
    {'OK', orderJson}
    {'REBUILDING'}               Redis lost its data and is being rebuilt; nothing changed
    {'NOT_FOUND'}
    {'KEYS_MISMATCH'}
    {'INVALID_STATE', status}
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

if order.status == 'cancelled' and order.last_request == ARGV[2] then
  return { 'OK', cjson.encode(order) }
end
if order.status ~= 'checkout' and order.status ~= 'draft' then
  return { 'INVALID_STATE', order.status }
end
local now = nowMs()
redis.call('HSET', k.order, 'last_request', ARGV[2])
if order.status == 'checkout' then
  endReservation(k, order, paired, 'cancelled', 'order_cancelled', now)
else
  redis.call('ZREM', draftsKey, order.id)
  closeOpenOrder(k.openOrders, order.customer_id)
  redis.call('HSET', k.order, 'status', 'cancelled', 'updated_at', fmt(now))
  redis.call('HINCRBY', k.order, 'v', 1)
  appendEvent(k.events, 'order_cancelled', now, eventFields(k.order, nil, nil))
end
return { 'OK', cjson.encode(hashToTable(k.order)) }
