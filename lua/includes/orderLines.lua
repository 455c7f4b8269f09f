--- @include "common"
-- An order keeps its lines compactly, as 'productId:quantity:unitPrice' joined
-- by ',' (prices in minor units). Names are read from the catalogue when shown.
local function parseLines(encoded)
  local lines = {}
  for productId, quantity, price in string.gmatch(encoded, '(%d+):(%d+):(%d+)') do
    lines[#lines + 1] = { product_id = productId, quantity = tonumber(quantity), price = price }
  end
  return lines
end

-- Pairs an order's lines with `lineKeys`, two per line (product hash,
-- customer-units hash). The caller also passes the product ids it used
-- (comma separated); a mismatch returns nil and nothing changes.
local function pairLines(lines, lineKeys, productIdsCsv)
  if #lineKeys ~= 2 * #lines then
    return nil
  end
  local ids = {}
  local paired = {}
  for i, line in ipairs(lines) do
    ids[i] = line.product_id
    paired[i] = { line = line, productKey = lineKeys[2 * i - 1], unitsKey = lineKeys[2 * i] }
  end
  if table.concat(ids, ',') ~= productIdsCsv then
    return nil
  end
  return paired
end

-- The lines this script moves stock for: all of them, or none for an order
-- across partitions (its hash then names how many partitions there are,
-- `parts`, and its `home`): every line of such an order is held in its own
-- partition, the home's too (holdLines.lua), and its home scripts move only
-- the order's status.
local function localLines(order, lines)
  if order.parts then
    return {}
  end
  return lines
end

-- Loads the order at `orderKey` and pairs its local lines with `lineKeys`.
-- Returns order, paired; or nil and the error reply.
local function loadOrder(orderKey, lineKeys, productIdsCsv)
  local order = hashToTable(orderKey)
  if not order.status then
    return nil, { 'NOT_FOUND' }
  end
  local paired = pairLines(localLines(order, parseLines(order.lines)), lineKeys, productIdsCsv)
  if not paired then
    return nil, { 'KEYS_MISMATCH' }
  end
  return order, paired
end

-- Units a customer holds (reserved or bought) count against max_per_customer.
-- They are counted for every product, limited or not, so that a limit set
-- later counts what customers already hold.
local function addCustomerUnits(p, customerId, delta)
  if customerId == nil or customerId == '' then
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

-- Ends an order's hold: releases its units, sets the final status, appends the
-- event (its type given literally by the caller: 'order_expired', 'order_cancelled').
-- `k` names the keys: k.order, k.reservations, k.events, k.openOrders.
local function endReservation(k, order, paired, status, eventType, now)
  local orderKey = k.order
  local stock = releaseLines(paired, order.customer_id)
  closeOpenOrder(k.openOrders, order.customer_id)
  redis.call('HSET', orderKey, 'status', status, 'updated_at', fmt(now))
  redis.call('HDEL', orderKey, 'reserved_until')
  redis.call('HINCRBY', orderKey, 'v', 1)
  redis.call('ZREM', k.reservations, order.id)
  appendEvent(k.events, eventType, now, eventFields(orderKey, nil, stock))
end
