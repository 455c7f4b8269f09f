--[[
  Puts an open order (and its payment) back into Redis while the store is
  rebuilt from Postgres. An order Redis still holds is never overwritten, so a
  rebuild that runs over kept data changes nothing.

  Resend rule: an order Redis holds is never overwritten: a resend answers PRESENT.

  Input:
    KEYS[1]  order hash
    KEYS[2]  reservations sorted set
    KEYS[3]  drafts sorted set
    KEYS[4]  payment hash (only when the order has a payment)

    ARGV[1]  order fields, JSON object of strings
    ARGV[2]  payment fields, JSON object of strings, or ''
    ARGV[3]  reservation expiry, ms, or '' (checked-out orders)
    ARGV[4]  draft expiry, ms, or '' (drafts)

  Output:
    {'RESTORED'}
    {'PRESENT'}   Redis already held the order; nothing changed
]]
local function hsetTable(key, t)
  local flat = {}
  for field, value in pairs(t) do
    flat[#flat + 1] = field
    flat[#flat + 1] = value
  end
  redis.call('HSET', key, unpack(flat))
end

if redis.call('EXISTS', KEYS[1]) == 1 then
  return { 'PRESENT' }
end
local order = cjson.decode(ARGV[1])
hsetTable(KEYS[1], order)
if ARGV[2] ~= '' and KEYS[4] then
  hsetTable(KEYS[4], cjson.decode(ARGV[2]))
end
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), order.id)
end
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[3], tonumber(ARGV[4]), order.id)
end
return { 'RESTORED' }
