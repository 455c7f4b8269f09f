--[[
  Loads a product into Redis: its catalogue fields always, its stock counters
  only when Redis does not hold them yet (live counters are never overwritten).

  Input:
    KEYS[1] product hash

    ARGV[1] name
    ARGV[2] price, in minor units
    ARGV[3] status: 'active' | 'inactive'
    ARGV[4] max units per customer, '' for no limit
    ARGV[5] available units
    ARGV[6] reserved units
    ARGV[7] sold units
    ARGV[8] stock version (0 for a new product; Postgres's stock_version when hydrating)

  Output:
    {'LOADED'}    counters were set
    {'PRESENT'}   counters were already there and kept
]]
local productKey = KEYS[1]

redis.call('HSET', productKey, 'name', ARGV[1], 'price', ARGV[2], 'status', ARGV[3],
  'max_per_customer', ARGV[4])

if redis.call('HEXISTS', productKey, 'available') == 1 then
  return { 'PRESENT' }
end
redis.call('HSET', productKey, 'available', ARGV[5], 'reserved', ARGV[6], 'sold', ARGV[7], 'v', ARGV[8])
return { 'LOADED' }
