--- @include "orderLines"
-- Loads a payment that is waiting for a decision, with its order and lines.
-- KEYS[1] order hash, KEYS[3] events stream, KEYS[4] payment hash,
-- KEYS[5..] line keys; ARGV[1] the lines' product ids, ARGV[2] the request id.
-- Returns payment, order, paired; or nil and the reply to give (an error, or
-- the earlier answer when the same request already made this decision).
local function loadPaidOrder(decision)
  local payment = hashToTable(KEYS[4])
  if not payment.status then
    return nil, { 'NOT_FOUND' }
  end
  local order, paired = loadOrder(5)
  if not order then
    return nil, paired
  end
  if order.id ~= payment.order_id then
    return nil, { 'KEYS_MISMATCH' }
  end
  if payment.status == decision and payment.last_request == ARGV[2] then
    return nil, { 'OK', cjson.encode(order), cjson.encode(payment) }
  end
  if payment.status ~= 'paid' then
    return nil, { 'INVALID_STATE', payment.status }
  end
  return payment, order, paired
end

-- Records the decision on the payment and its order, then appends the event.
local function settle(paymentStatus, orderStatus, stock, now)
  redis.call('HSET', KEYS[4], 'status', paymentStatus, 'last_request', ARGV[2])
  redis.call('HINCRBY', KEYS[4], 'v', 1)
  redis.call('HSET', KEYS[1], 'status', orderStatus, 'updated_at', fmt(now))
  redis.call('HINCRBY', KEYS[1], 'v', 1)
  appendEvent(KEYS[3], 'payment_' .. paymentStatus, now, KEYS[1], KEYS[4], stock)
  return { 'OK', cjson.encode(hashToTable(KEYS[1])), cjson.encode(hashToTable(KEYS[4])) }
end
