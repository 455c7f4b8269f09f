--[[
  Adds units to a product's available stock and records it for the ledger.
  A product's total stock (available + reserved + sold) may not pass the
  documented maximum, so every counter and ledger total fits its column.

  Input:
    KEYS[1] readiness marker
    KEYS[2] product hash
    KEYS[3] events stream

    ARGV[1] product id
    ARGV[2] units to add (> 0)
    ARGV[3] restock id (UUID, the ledger row's key)
    ARGV[4] kind: 'restock' | 'adjustment'
    ARGV[5] the most total stock a product may have

  Output:
    {'OK', available, reserved, sold}   also when this restock id was applied already (a resent call)
    {'REBUILDING'}                      Redis lost its data and is being rebuilt
    {'NOT_FOUND'}
    {'STOCK_LIMIT', total, max}         the restock would pass the maximum; nothing changed
]]
--- @include "common"
local productKey = KEYS[2]
local eventsKey = KEYS[3]
local productId = ARGV[1]
local quantity = tonumber(ARGV[2])

if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
if redis.call('HEXISTS', productKey, 'available') == 0 then
  return { 'NOT_FOUND' }
end

local s = redis.call('HMGET', productKey, 'available', 'reserved', 'sold', 'last_restock')
if s[4] == ARGV[3] then
  return { 'OK', s[1], s[2], s[3] }
end
local total = tonumber(s[1]) + tonumber(s[2]) + tonumber(s[3])
if total + quantity > tonumber(ARGV[5]) then
  return { 'STOCK_LIMIT', fmt(total), ARGV[5] }
end
redis.call('HSET', productKey, 'last_restock', ARGV[3])
redis.call('HINCRBY', productKey, 'available', quantity)
redis.call('HINCRBY', productKey, 'v', 1)

local now = nowMs()
local stock = stockSnapshot(productKey, productId)
redis.call('XADD', eventsKey, '*', 'type', 'stock_' .. ARGV[4], 'at', fmt(now),
  'ledger', cjson.encode({ id = ARGV[3], product_id = productId, kind = ARGV[4], quantity = ARGV[2] }),
  'stock', cjson.encode({ stock }))
return { 'OK', stock.available, stock.reserved, stock.sold }
