-- Shared helpers. Every helper takes the keys it touches as parameters.

-- Integers as exact decimal strings (Lua's tostring keeps only 14 digits).
local function fmt(n)
  return string.format('%d', n)
end

-- Redis server time in milliseconds: one clock for every process.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function hashToTable(key)
  local flat = redis.call('HGETALL', key)
  local t = {}
  for i = 1, #flat, 2 do
    t[flat[i]] = flat[i + 1]
  end
  return t
end

-- The readiness marker exists once Redis holds the store (set by the rebuild
-- from Postgres, and by nothing else). Without it Redis lost its data: every
-- change waits, so nothing is decided against an empty store.
local function rebuilding(markerKey)
  return redis.call('EXISTS', markerKey) == 0
end

-- Open orders (drafts and checkouts) per customer, for the cap on open orders.
local function closeOpenOrder(openOrdersKey, customerId)
  if not customerId or customerId == '' then
    return
  end
  if redis.call('HINCRBY', openOrdersKey, customerId, -1) <= 0 then
    redis.call('HDEL', openOrdersKey, customerId)
  end
end

-- A product's sale window, read from its hash: nil when it is open at `now`,
-- else the refusal ('SALE_NOT_STARTED' or 'SALE_ENDED') and the instant, ms.
local function saleClosed(saleStarts, saleEnds, now)
  local starts = tonumber(saleStarts or '')
  if starts and now < starts then
    return 'SALE_NOT_STARTED', saleStarts
  end
  local ends = tonumber(saleEnds or '')
  if ends and now >= ends then
    return 'SALE_ENDED', saleEnds
  end
  return nil
end

local function stockSnapshot(productKey, productId)
  local s = redis.call('HMGET', productKey, 'available', 'reserved', 'sold', 'v')
  return { id = tostring(productId), available = s[1], reserved = s[2], sold = s[3], v = s[4] }
end

-- Appends one event to the write-behind stream: its type, when, and its fields
-- as a flat list of name, value pairs. Every producer calls this, with its event
-- type written out literally, so grep goes from a type to every script that
-- appends it (and src/worker/events.ts names the sink that writes it).
local function appendEvent(eventsKey, eventType, now, fields)
  return redis.call('XADD', eventsKey, '*', 'type', eventType, 'at', fmt(now), unpack(fields))
end

-- An event's usual fields: the order and the payment as they are now, and the
-- stock snapshots of what moved (any of them may be nil).
local function eventFields(orderKey, paymentKey, stock)
  local fields = {}
  if orderKey then
    table.insert(fields, 'order')
    table.insert(fields, cjson.encode(hashToTable(orderKey)))
  end
  if paymentKey then
    table.insert(fields, 'payment')
    table.insert(fields, cjson.encode(hashToTable(paymentKey)))
  end
  if stock and #stock > 0 then
    table.insert(fields, 'stock')
    table.insert(fields, cjson.encode(stock))
  end
  return fields
end
