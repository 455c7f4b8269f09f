--[[
  Expires one reservation whose time has run out: its units go back to
  available and the order becomes 'expired'. Safe to call from several
  sweepers at once: the state is checked again here.

  Resend rule: the state is checked on every call: a resend finds the order
  expired, answers SKIPPED and moves nothing.

  Input:
    KEYS[1]    readiness marker
    KEYS[2]    order hash
    KEYS[3]    reservations sorted set
    KEYS[4]    events stream
    KEYS[5]    open orders per customer hash
    KEYS[6..]  per line: product hash, customer-units hash

    ARGV[1]    order id
    ARGV[2]    the lines' product ids, comma separated

  Output:
    {'OK'}
    {'REBUILDING'}           Redis lost its data and is being rebuilt
    {'NOT_DUE'}              the reservation still holds
    {'SKIPPED', status}      the order no longer holds a reservation (stale entry removed)
    {'NOT_FOUND'}            the order is gone (stale entry removed)
    {'KEYS_MISMATCH'}
]]
--- @include "orderLines"
local k = { order = KEYS[2], reservations = KEYS[3], events = KEYS[4], openOrders = KEYS[5] }

if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
local order = hashToTable(k.order)
if not order.status then
  redis.call('ZREM', k.reservations, ARGV[1])
  return { 'NOT_FOUND' }
end
if order.status ~= 'checkout' then
  redis.call('ZREM', k.reservations, ARGV[1])
  return { 'SKIPPED', order.status }
end
local paired = pairLines(localLines(order, parseLines(order.lines)), { unpack(KEYS, 6) }, ARGV[2])
if not paired then
  return { 'KEYS_MISMATCH' }
end

local now = nowMs()
if now < tonumber(order.reserved_until) then
  return { 'NOT_DUE' }
end
endReservation(k, order, paired, 'expired', 'order_expired', now)
return { 'OK' }
