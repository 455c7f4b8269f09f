--[[
  Rejects a payment: the order's reserved units go back to available, and
  count back towards the customer's limit.

  Resend rule: a payment this request id rejected already answers OK once more and
  changes nothing.

  Input:
    KEYS[1]    readiness marker
    KEYS[2]    order hash
    KEYS[3]    events stream
    KEYS[4]    payment hash
    KEYS[5..]  per line: product hash, customer-units hash

    ARGV[1]    the lines' product ids, comma separated
    ARGV[2]    request id: the same call sent again (after a reconnect) answers OK once more

  Output:
    {'OK', orderJson, paymentJson}
    {'REBUILDING'}                     Redis lost its data and is being rebuilt
    {'NOT_FOUND'}
    {'KEYS_MISMATCH'}
    {'INVALID_STATE', paymentStatus}
]]
--- @include "paidOrder"
if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
local k = { order = KEYS[2], events = KEYS[3], payment = KEYS[4], lines = { unpack(KEYS, 5) } }
local payment, order, paired = loadPaidOrder(k, ARGV[1], ARGV[2], 'rejected')
if not payment then
  return order
end

local stock = releaseLines(paired, order.customer_id)
return settle(k, ARGV[2], 'rejected', 'payment_rejected', 'payment_rejected', stock, nowMs())
