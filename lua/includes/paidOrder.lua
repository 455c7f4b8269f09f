--- @include "orderLines"
-- Loads a payment that is waiting for a decision, with its order and lines.
-- `k` names the keys: k.order, k.payment, k.lines (per line: product hash,
-- customer-units hash). Returns payment, order, paired; or nil and the reply to
-- give (an error, or the earlier answer when the same request already made this
-- decision).
local function loadPaidOrder(k, productIdsCsv, requestId, decision)
  local payment = hashToTable(k.payment)
  if not payment.status then
    return nil, { 'NOT_FOUND' }
  end
  local order, paired = loadOrder(k.order, k.lines, productIdsCsv)
  if not order then
    return nil, paired
  end
  if order.id ~= payment.order_id then
    return nil, { 'KEYS_MISMATCH' }
  end
  if payment.status == decision and payment.last_request == requestId then
    return nil, { 'OK', cjson.encode(order), cjson.encode(payment) }
  end
  if payment.status ~= 'paid' then
    return nil, { 'INVALID_STATE', payment.status }
  end
  return payment, order, paired
end

-- Records the decision on the payment and its order, then appends the event
-- (its type given literally by the caller: 'payment_confirmed', 'payment_rejected').
local function settle(k, requestId, paymentStatus, orderStatus, eventType, stock, now)
  redis.call('HSET', k.payment, 'status', paymentStatus, 'last_request', requestId)
  redis.call('HINCRBY', k.payment, 'v', 1)
  redis.call('HSET', k.order, 'status', orderStatus, 'updated_at', fmt(now))
  redis.call('HINCRBY', k.order, 'v', 1)
  appendEvent(k.events, eventType, now, eventFields(k.order, k.payment, stock))
  return { 'OK', cjson.encode(hashToTable(k.order)), cjson.encode(hashToTable(k.payment)) }
end
