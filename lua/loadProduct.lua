--[[
  Loads a product into Redis. Its catalogue fields are set unless Redis holds a
  newer catalogue version (an update not yet in Postgres); its stock counters
  only when Redis does not hold them yet (live counters are never overwritten).
  Active products are listed in the catalogue index that GET /products reads.

  Resend rule: counters are set only when absent and catalogue fields only when not
  older: a resend changes nothing.

  Input:
    KEYS[1]  product hash
    KEYS[2]  catalogue sorted set (active product ids, scored by id)

    ARGV[1]  product id
    ARGV[2]  name
    ARGV[3]  price, in minor units
    ARGV[4]  status: 'active' | 'inactive'
    ARGV[5]  max units per customer, '' for no limit
    ARGV[6]  lead time, days
    ARGV[7]  longest lead time, days
    ARGV[8]  created, ms since the epoch
    ARGV[9]  sale starts, ms, '' for always open
    ARGV[10] sale ends, ms, '' for never
    ARGV[11] catalogue version
    ARGV[12] available units
    ARGV[13] reserved units
    ARGV[14] sold units
    ARGV[15] stock version (0 for a new product; Postgres's stock_version when rebuilding)

  Output:
    {'LOADED'}    counters were set
    {'PRESENT'}   counters were already there and kept
]]
local productKey = KEYS[1]
local catalogueKey = KEYS[2]

local held = tonumber(redis.call('HGET', productKey, 'cv') or '-1')
if held <= tonumber(ARGV[11]) then
  redis.call('HSET', productKey, 'name', ARGV[2], 'price', ARGV[3], 'status', ARGV[4],
    'max_per_customer', ARGV[5], 'lead_time', ARGV[6], 'most_lead_time', ARGV[7],
    'created', ARGV[8], 'sale_starts', ARGV[9], 'sale_ends', ARGV[10], 'cv', ARGV[11])
  if ARGV[4] == 'active' then
    redis.call('ZADD', catalogueKey, tonumber(ARGV[1]), ARGV[1])
  else
    redis.call('ZREM', catalogueKey, ARGV[1])
  end
end

if redis.call('HEXISTS', productKey, 'available') == 1 then
  return { 'PRESENT' }
end
redis.call('HSET', productKey, 'available', ARGV[12], 'reserved', ARGV[13], 'sold', ARGV[14],
  'v', ARGV[15])
return { 'LOADED' }
