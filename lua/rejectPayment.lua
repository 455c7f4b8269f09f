--[[
  Rejects a payment: the order's reserved units go back to available, and
  count back towards the customer's limit.

  Input:
    KEYS[1]    order hash
    KEYS[2]    reservations sorted set (not touched; keeps the key layout of payOrder)
    KEYS[3]    events stream
    KEYS[4]    payment hash
    KEYS[5..]  per line: product hash, customer-units hash

    ARGV[1]    the lines' product ids, comma separated
    ARGV[2]    request id: the same call sent again (after a reconnect) answers OK once more

  Output:
    {'OK', orderJson, paymentJson}
    {'NOT_FOUND'}
    {'KEYS_MISMATCH'}
    {'INVALID_STATE', paymentStatus}
]]
--- @include "paidOrder"
local payment, order, paired = loadPaidOrder('rejected')
if not payment then
  return order
end

local stock = releaseLines(paired, order.customer_id)
return settle('rejected', 'payment_rejected', stock, nowMs())
