--[[
  A worker's lease on one partition's lane of the write-behind
  (src/worker/writeBehind.ts): the lane runs only in the worker that holds
  it, so each partition has one writer at a time. Correctness never rests on
  the lease (every write to Postgres is versioned and idempotent, so a writer
  that lost its lease mid-batch does no harm); it keeps writers from
  duplicating each other's work.

  Resend rule: taking a lease the caller holds renews it, and giving up one
  it does not hold changes nothing, so a resend answers as the first call did.

  Input:
    KEYS[1]  the lane's lease: the holder's consumer name, expiring
    ARGV[1]  the caller's consumer name
    ARGV[2]  'take' (take it if free, renew it if held) or 'release'
    ARGV[3]  how long a taken or renewed lease lasts, ms

  Output:
    {'OK'}                      the caller holds it now (taken or renewed), or gave it up
    {'TAKEN', holder, pttlMs}   another consumer holds it for pttlMs more; nothing changed
]]
local leaseKey = KEYS[1]
local consumer = ARGV[1]

local holder = redis.call('GET', leaseKey)
if ARGV[2] == 'release' then
  if holder == consumer then
    redis.call('DEL', leaseKey)
  end
  return { 'OK' }
end
if holder and holder ~= consumer then
  return { 'TAKEN', holder, redis.call('PTTL', leaseKey) }
end
redis.call('SET', leaseKey, consumer, 'PX', tonumber(ARGV[3]))
return { 'OK' }
