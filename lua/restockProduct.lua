--[[
  Adds units to a product's available stock and records it for the ledger.
  A product's total stock (available + reserved + sold) may not pass the
  documented maximum, so every counter and ledger total fits its column.

  Input:
    KEYS[1] readiness marker
    KEYS[2] product hash
    KEYS[3] events stream
    KEYS[4] this restock's receipt

    ARGV[1] product id
    ARGV[2] units to add (> 0)
    ARGV[3] restock id (UUID, the ledger row's key)
    ARGV[4] kind: 'restock' | 'adjustment'
    ARGV[5] the most total stock a product may have
    ARGV[6] how long the receipt is kept, ms

  Resend rule: the receipt, keyed by the restock id, holds the first reply.
  The same restock sent again answers that reply and adds nothing, however
  many other restocks of the product ran in between.

  Output:
    {'OK', available, reserved, sold}   the counters right after this restock (also on a resend)
    {'REBUILDING'}                      Redis lost its data and is being rebuilt
    {'NOT_FOUND'}
    {'STOCK_LIMIT', total, max}         the restock would pass the maximum; nothing changed
]]
--- @include "common"
--- @include "receipts"
local productKey = KEYS[2]
local eventsKey = KEYS[3]
local receiptKey = KEYS[4]
local productId = ARGV[1]
local quantity = tonumber(ARGV[2])

if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
if redis.call('HEXISTS', productKey, 'available') == 0 then
  return { 'NOT_FOUND' }
end

local kept = receiptOf(receiptKey)
if kept then
  return kept
end
local s = redis.call('HMGET', productKey, 'available', 'reserved', 'sold')
local total = tonumber(s[1]) + tonumber(s[2]) + tonumber(s[3])
if total + quantity > tonumber(ARGV[5]) then
  return { 'STOCK_LIMIT', fmt(total), ARGV[5] }
end
redis.call('HINCRBY', productKey, 'available', quantity)
redis.call('HINCRBY', productKey, 'v', 1)

local now = nowMs()
local stock = stockSnapshot(productKey, productId)
local fields = {
  'ledger', cjson.encode({ id = ARGV[3], product_id = productId, kind = ARGV[4], quantity = ARGV[2] }),
  'stock', cjson.encode({ stock }),
}
if ARGV[4] == 'adjustment' then
  appendEvent(eventsKey, 'stock_adjustment', now, fields)
else
  appendEvent(eventsKey, 'stock_restock', now, fields)
end
return keepReceipt(receiptKey, tonumber(ARGV[6]), { 'OK', stock.available, stock.reserved, stock.sold })
