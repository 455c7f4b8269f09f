--- @include "common"
-- A hold: the lines of an order whose home is another partition, reserved
-- here. `hold` names its keys: hold.key (the hold's hash), hold.done (what
-- became of it once it ended), hold.index (holds by when to audit them),
-- hold.events, and hold.lines (per line: product hash, customer-units hash).

-- The hold's lines ('productId:quantity' joined by ','), paired with their keys;
-- nil when the keys are not the hold's lines.
local function pairHoldLines(encoded, lineKeys)
  local paired = {}
  for productId, quantity in string.gmatch(encoded, '(%d+):(%d+)') do
    local i = #paired + 1
    paired[i] = {
      product_id = productId,
      quantity = tonumber(quantity),
      productKey = lineKeys[2 * i - 1],
      unitsKey = lineKeys[2 * i],
    }
  end
  if #lineKeys ~= 2 * #paired then
    return nil
  end
  return paired
end

-- Ends a hold that exists: moves its units from reserved to `to` ('available'
-- or 'sold'), records what became of it for `doneTtlMs`, and appends the
-- event (its type given literally by the caller: 'stock_released', 'stock_sold').
local function finishHold(hold, h, paired, to, outcome, eventType, doneTtlMs, now)
  local stock = {}
  for i, p in ipairs(paired) do
    redis.call('HINCRBY', p.productKey, 'reserved', -p.quantity)
    redis.call('HINCRBY', p.productKey, to, p.quantity)
    redis.call('HINCRBY', p.productKey, 'v', 1)
    if to == 'available' and h.customer_id ~= '' then
      if redis.call('HINCRBY', p.unitsKey, h.customer_id, -p.quantity) <= 0 then
        redis.call('HDEL', p.unitsKey, h.customer_id)
      end
    end
    stock[i] = stockSnapshot(p.productKey, p.product_id)
  end
  h.status = outcome
  h.v = fmt(tonumber(h.v) + 1)
  redis.call('DEL', hold.key)
  redis.call('ZREM', hold.index, h.order_id)
  redis.call('SET', hold.done, outcome, 'PX', doneTtlMs)
  appendEvent(hold.events, eventType, now, { 'hold', cjson.encode(h), 'stock', cjson.encode(stock) })
end
