--[[
  Checks, in one partition, the lines of a new order that live there but not
  in its home partition: the same soft checks createOrder.lua makes (active,
  sale not ended, units available, a customer for a limited product), and
  their prices and names for the draft. Read-only: nothing is reserved.

  Resend rule: read-only: a resend reads again.

  Input:
    KEYS[1]    readiness marker
    KEYS[2..]  product hashes, one per line

    ARGV[1]    customer id, '' for none
    ARGV[2..]  one pair per line, in KEYS order: product id, quantity

  Output:
    {'OK', linesJson}    product id -> [unit price, name, available units]
    {'REBUILDING'}       this partition lost its data and is being rebuilt
    {'NOT_FOUND', productId} | {'SALE_ENDED', productId, endsMs}
    {'OUT_OF_STOCK', productId, available} | {'CUSTOMER_REQUIRED', productId}
    {'LIMIT_EXCEEDED', productId, limit, 0}
]]
--- @include "draftLine"
if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
local now = nowMs()
local lines = {}
for i = 2, #KEYS do
  local productId = ARGV[2 * i - 2]
  local line, refusal = checkDraftLine(KEYS[i], productId, tonumber(ARGV[2 * i - 1]), ARGV[1], now)
  if not line then
    return refusal
  end
  lines[productId] = { line.price, line.name, line.left }
end
return { 'OK', cjson.encode(lines) }
