--[[
  Changes a product's catalogue fields at once (PATCH /products/{id}): the
  change takes effect for every instance in one step, and an event carries the
  whole catalogue record to Postgres. Orders already placed keep their prices.

  Resend rule: the receipt, keyed by the request's id, holds the first reply:
  the same change sent again answers it and changes nothing (no second event).

  Input:
    KEYS[1]  readiness marker
    KEYS[2]  product hash
    KEYS[3]  catalogue sorted set (active product ids)
    KEYS[4]  events stream
    KEYS[5]  this change's receipt

    ARGV[1]  product id
    ARGV[2]  the changes, a JSON object of strings; '' clears max_per_customer,
             sale_starts or sale_ends. Fields: name, price (minor units), status,
             lead_time, most_lead_time, max_per_customer, sale_starts, sale_ends (ms)

  Output:
    {'OK', productJson}          the catalogue record after the change
    {'REBUILDING'}               Redis lost its data and is being rebuilt
    {'NOT_FOUND'}
    {'INVALID', field, reason}   the change would leave the product inconsistent; nothing changed
]]
--- @include "common"
--- @include "receipts"
local productKey = KEYS[2]
local catalogueKey = KEYS[3]
local eventsKey = KEYS[4]
local receiptKey = KEYS[5]
local productId = ARGV[1]
local FIELDS = { 'name', 'price', 'status', 'max_per_customer', 'lead_time', 'most_lead_time',
  'sale_starts', 'sale_ends', 'cv' }

if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
local kept = receiptOf(receiptKey)
if kept then
  return kept
end
if redis.call('HEXISTS', productKey, 'name') == 0 then
  return { 'NOT_FOUND' }
end

local changes = cjson.decode(ARGV[2])
local product = {}
local current = redis.call('HMGET', productKey, unpack(FIELDS))
for i, field in ipairs(FIELDS) do
  product[field] = current[i] or ''
end
for field, value in pairs(changes) do
  product[field] = value
end
if tonumber(product.most_lead_time) < tonumber(product.lead_time) then
  return { 'INVALID', 'most_lead_time', 'must be at least lead_time' }
end
local starts = tonumber(product.sale_starts)
local ends = tonumber(product.sale_ends)
if starts and ends and ends <= starts then
  return { 'INVALID', 'sale_ends_at', 'must be after sale_starts_at' }
end

product.cv = fmt(tonumber(product.cv ~= '' and product.cv or '0') + 1)
local flat = {}
for _, field in ipairs(FIELDS) do
  flat[#flat + 1] = field
  flat[#flat + 1] = product[field]
end
redis.call('HSET', productKey, unpack(flat))
if product.status == 'active' then
  redis.call('ZADD', catalogueKey, tonumber(productId), productId)
else
  redis.call('ZREM', catalogueKey, productId)
end
product.id = productId
local json = cjson.encode(product)
appendEvent(eventsKey, 'product_updated', nowMs(), { 'product', json })
return keepReceipt(receiptKey, tonumber(ARGV[3]), { 'OK', json })
