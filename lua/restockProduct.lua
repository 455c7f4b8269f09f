--[[
  Adds units to a product's available stock and records it for the ledger.

  Input:
    KEYS[1] product hash
    KEYS[2] events stream

    ARGV[1] product id
    ARGV[2] units to add (> 0)
    ARGV[3] restock id (UUID, the ledger row's key)
    ARGV[4] kind: 'restock' | 'adjustment'

  Output:
    {'OK', available, reserved, sold}   also when this restock id was applied already (a resent call)
    {'NOT_FOUND'}
]]
--- @include "common"
local productKey = KEYS[1]
local eventsKey = KEYS[2]
local productId = ARGV[1]
local quantity = tonumber(ARGV[2])

if redis.call('HEXISTS', productKey, 'available') == 0 then
  return { 'NOT_FOUND' }
end

if redis.call('HGET', productKey, 'last_restock') == ARGV[3] then
  local s = redis.call('HMGET', productKey, 'available', 'reserved', 'sold')
  return { 'OK', s[1], s[2], s[3] }
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
