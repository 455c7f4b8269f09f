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

-- What became of an order's holds in a partition (the `done` key): 'sold', or
-- 'released:<v>:<scope>', the version the last hold ended at and whose it was:
-- a checkout attempt's (its resends are refused; a later attempt may hold
-- again, from version v + 1, so Postgres takes it as newer) or '*' (the order
-- ended: every attempt's). A bare 'released' (written before attempts were
-- told apart) is every attempt's. Returns nil, or { sold, v, scope }.
local function parseDone(done)
  if not done then
    return nil
  elseif done == 'sold' then
    return { sold = true, v = 0 }
  elseif done == 'released' then
    return { v = 0, scope = '*' }
  end
  local v, scope = string.match(done, '^released:(%d+):(.*)$')
  return { v = tonumber(v) or 0, scope = scope or '*' }
end

-- True when what ended refuses a hold for `attempt`.
local function releasedFor(d, attempt)
  return d.scope == '*' or d.scope == attempt
end

-- Ends a hold that exists: moves its units from reserved to `to` ('available'
-- or 'sold'), appends the event (its type given literally by the caller:
-- 'stock_released', 'stock_sold'), and records what became of it for
-- `doneTtlMs` (a release for `scope`: see parseDone).
local function finishHold(hold, h, paired, to, outcome, eventType, scope, doneTtlMs, now)
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
  local doneValue = outcome == 'sold' and 'sold' or ('released:' .. h.v .. ':' .. scope)
  redis.call('SET', hold.done, doneValue, 'PX', doneTtlMs)
  appendEvent(hold.events, eventType, now, { 'hold', cjson.encode(h), 'stock', cjson.encode(stock) })
end
