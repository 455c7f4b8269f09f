-- A receipt keeps the reply of a call that changed something, under the
-- call's own id, so the same call sent again (ioredis resends what was in
-- flight when a reply was lost; a retry may carry the same id) answers with
-- the first reply and changes nothing. Receipts expire after `ttlMs`.
local function receiptOf(receiptKey)
  local kept = redis.call('GET', receiptKey)
  if kept then
    return cjson.decode(kept)
  end
  return nil
end

local function keepReceipt(receiptKey, ttlMs, reply)
  redis.call('SET', receiptKey, cjson.encode(reply), 'PX', ttlMs)
  return reply
end
