--[[
  Sets a product's counters to the values derived from Postgres, if the product
  has not changed since the stock check read it. Used by POST /reconcile, after
  it has made sure Postgres holds every order Redis holds.

  Input:
    KEYS[1]  readiness marker
    KEYS[2]  product hash
    KEYS[3]  events stream
    KEYS[4]  this repair's receipt

    ARGV[1]  product id
    ARGV[2]  stock version the check saw
    ARGV[3]  available units
    ARGV[4]  reserved units
    ARGV[5]  sold units
    ARGV[6]  how long the receipt is kept, ms

  Resend rule: the receipt, keyed by the repair's id, holds the reply of the
  repair that was made. The same repair sent again answers that reply (OK),
  never CHANGED for the version it moved itself.

  Output:
    {'OK', version}      the new version
    {'REBUILDING'}       Redis lost its data and is being rebuilt
    {'CHANGED', version} the product moved since the check; nothing changed
    {'NEGATIVE'}         a target counter is below zero; nothing changed
    {'NOT_FOUND'}
]]
--- @include "common"
--- @include "receipts"
local productKey = KEYS[2]
local eventsKey = KEYS[3]
local receiptKey = KEYS[4]

if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
local kept = receiptOf(receiptKey)
if kept then
  return kept
end
local version = redis.call('HGET', productKey, 'v')
if not version then
  return { 'NOT_FOUND' }
end
if version ~= ARGV[2] then
  return { 'CHANGED', version }
end
for i = 3, 5 do
  if tonumber(ARGV[i]) < 0 then
    return { 'NEGATIVE' }
  end
end

redis.call('HSET', productKey, 'available', ARGV[3], 'reserved', ARGV[4], 'sold', ARGV[5])
local v = redis.call('HINCRBY', productKey, 'v', 1)
local now = nowMs()
appendEvent(eventsKey, 'stock_reconciled', now, eventFields(nil, nil, { stockSnapshot(productKey, ARGV[1]) }))
return keepReceipt(receiptKey, tonumber(ARGV[6]), { 'OK', v })
