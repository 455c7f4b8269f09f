--[[
  Puts a hold back into this partition while it is rebuilt from Postgres (its
  units are already in the product counters the rebuild loaded). A hold Redis
  still holds is never overwritten.

  Resend rule: a hold Redis holds is never overwritten: a resend answers PRESENT.

  Input:
    KEYS[1]  the hold's hash
    KEYS[2]  holds index

    ARGV[1]  the hold's fields, JSON object of strings
    ARGV[2]  when to audit it, ms

  Output:
    {'RESTORED'} | {'PRESENT'}
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return { 'PRESENT' }
end
local h = cjson.decode(ARGV[1])
local flat = {}
for field, value in pairs(h) do
  flat[#flat + 1] = field
  flat[#flat + 1] = value
end
redis.call('HSET', KEYS[1], unpack(flat))
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]), h.order_id)
return { 'RESTORED' }
