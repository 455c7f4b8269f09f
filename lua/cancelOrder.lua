--[[
  Cancels a draft or checked-out order; a held reservation is released.

  Input:
    KEYS[1]    order hash
    KEYS[2]    reservations sorted set
    KEYS[3]    events stream
    KEYS[4..]  per line: product hash, customer-units hash

    ARGV[1]    the lines' product ids, comma separated
    ARGV[2]    request id: the same call sent again (after a reconnect) answers OK once more

  Output:
    {'OK', orderJson}
    {'NOT_FOUND'}
    {'KEYS_MISMATCH'}
    {'INVALID_STATE', status}
]]
--- @include "orderLines"
local orderKey = KEYS[1]
local reservationsKey = KEYS[2]
local eventsKey = KEYS[3]

local order, paired = loadOrder(4)
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
redis.call('HSET', orderKey, 'last_request', ARGV[2])
if order.status == 'checkout' then
  endReservation(orderKey, reservationsKey, eventsKey, order, paired, 'cancelled', now)
else
  redis.call('HSET', orderKey, 'status', 'cancelled', 'updated_at', fmt(now))
  redis.call('HINCRBY', orderKey, 'v', 1)
  appendEvent(eventsKey, 'order_cancelled', now, orderKey, nil, nil)
end
return { 'OK', cjson.encode(hashToTable(orderKey)) }
