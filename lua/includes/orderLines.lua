--- @include "common"
-- Pairs an order's lines with the product and customer-units keys passed in
-- KEYS[first..], two keys per line. The caller also passes the product ids it
-- used (ARGV, comma separated); a mismatch returns nil and nothing changes.
local function pairLines(lines, first, productIdsCsv)
  if #KEYS - first + 1 ~= 2 * #lines then
    return nil
  end
  local ids = {}
  local paired = {}
  for i, line in ipairs(lines) do
    ids[i] = tostring(line.product_id)
    paired[i] = {
      line = line,
      productKey = KEYS[first + 2 * (i - 1)],
      unitsKey = KEYS[first + 2 * (i - 1) + 1],
    }
  end
  if table.concat(ids, ',') ~= productIdsCsv then
    return nil
  end
  return paired
end

-- Loads the order in KEYS[1] and pairs its lines with KEYS[first..], checked
-- against the product ids in ARGV[1]. Returns order, paired; or nil and the error reply.
local function loadOrder(first)
  local order = hashToTable(KEYS[1])
  if not order.status then
    return nil, { 'NOT_FOUND' }
  end
  local paired = pairLines(cjson.decode(order.lines), first, ARGV[1])
  if not paired then
    return nil, { 'KEYS_MISMATCH' }
  end
  return order, paired
end

-- Units a customer holds (reserved or bought) count against max_per_customer.
local function addCustomerUnits(p, customerId, delta)
  if customerId == nil or customerId == '' then
    return
  end
  if not tonumber(redis.call('HGET', p.productKey, 'max_per_customer') or '') then
    return
  end
  local held = redis.call('HINCRBY', p.unitsKey, customerId, delta)
  if held <= 0 then
    redis.call('HDEL', p.unitsKey, customerId)
  end
end

-- Moves every line's units from reserved back to available.
local function releaseLines(paired, customerId)
  local stock = {}
  for i, p in ipairs(paired) do
    local q = p.line.quantity
    redis.call('HINCRBY', p.productKey, 'reserved', -q)
    redis.call('HINCRBY', p.productKey, 'available', q)
    redis.call('HINCRBY', p.productKey, 'v', 1)
    addCustomerUnits(p, customerId, -q)
    stock[i] = stockSnapshot(p.productKey, p.line.product_id)
  end
  return stock
end

-- Ends an order's hold: releases its units, sets the final status, appends the event.
local function endReservation(orderKey, reservationsKey, eventsKey, order, paired, status, now)
  local stock = releaseLines(paired, order.customer_id)
  redis.call('HSET', orderKey, 'status', status, 'updated_at', fmt(now))
  redis.call('HDEL', orderKey, 'reserved_until')
  redis.call('HINCRBY', orderKey, 'v', 1)
  redis.call('ZREM', reservationsKey, order.id)
  appendEvent(eventsKey, 'order_' .. status, now, orderKey, nil, stock)
end
