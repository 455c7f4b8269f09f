--[[
  A token bucket per caller, as GCRA (generic cell rate algorithm): one string
  key holding the theoretical arrival time, in Redis time, so every instance
  shares one bucket. Refills `1000 / interval` tokens a second, holds `burst`.

  Resend rule: a resend takes one more token. A lost reply can only make a caller
  wait a little longer, never let more calls through.

  Input:
    KEYS[1]  the caller's bucket
    ARGV[1]  ms between tokens (1000 / rate; may be fractional)
    ARGV[2]  burst: tokens the bucket holds

  Output:
    {'OK'}
    {'LIMITED', retryAfterMs}   nothing was taken
]]
--- @include "common"
local bucketKey = KEYS[1]
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)

local now = nowMs()
local tat = math.max(tonumber(redis.call('GET', bucketKey) or '0'), now)
if tat - now > tolerance then
  return { 'LIMITED', fmt(math.ceil(tat - now - tolerance)) }
end
local nextTat = tat + interval
redis.call('SET', bucketKey, string.format('%.3f', nextTat), 'PX', math.max(1, math.ceil(nextTat - now)))
return { 'OK' }
