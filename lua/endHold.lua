--[[
  Ends an order's hold in this partition (holdLines.lua): `release` puts its
  units back on sale (a checkout refused elsewhere, an order cancelled,
  expired or rejected), `sell` makes them sold (its payment was confirmed).
  Records what became of the hold for a while, so a late resend of the hold
  is refused rather than reserving again: for the checkout attempt that took
  it (a refusal: the draft may be checked out again), or for every attempt
  (the order ended).

  Resend rule: a hold that ended answers OK with what became of it, and moves
  nothing; so does a release for one attempt that finds a later attempt's hold.
  Releasing a hold that never came records the release anyway, so a hold sent
  before and arriving after it is refused.

  Input:
    KEYS[1]    readiness marker
    KEYS[2]    the hold's hash
    KEYS[3]    what became of the hold
    KEYS[4]    holds index
    KEYS[5]    events stream
    KEYS[6..]  per line of the hold: product hash, customer-units hash

    ARGV[1]    order id
    ARGV[2]    'release' or 'sell'
    ARGV[3]    the lines of the hold as the caller knows them ('productId:quantity',
               joined by ','), checked against the hold
    ARGV[4]    how long what became of the hold is kept, ms
    ARGV[5]    a release's scope: the checkout attempt whose hold it gives back, or
               '*' when the order ended (every attempt's hold is refused after it)

  Output:
    {'OK', 'released' | 'sold'}       also when it had ended already (a resent call)
    {'OK', 'none'}                    there was no hold to release (recorded as released)
    {'REBUILDING'}                    this partition lost its data and is being rebuilt
    {'NOT_FOUND'}                     a sale of a hold that is not here
    {'INVALID_STATE', outcome}        a sale of a released hold, or a release of a sold one
    {'KEYS_MISMATCH'}
]]
--- @include "holds"
local hold = { key = KEYS[2], done = KEYS[3], index = KEYS[4], events = KEYS[5] }
local selling = ARGV[2] == 'sell'
local doneTtlMs = tonumber(ARGV[4])
local scope = ARGV[5]

if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
local h = hashToTable(hold.key)
if not h.status then
  local done = parseDone(redis.call('GET', hold.done))
  if done and done.sold then
    return selling and { 'OK', 'sold' } or { 'INVALID_STATE', 'sold' }
  elseif selling then
    return done and { 'INVALID_STATE', 'released' } or { 'NOT_FOUND' }
  end
  -- A release: recorded for its attempt (the latest one's resends are the likely ones), or
  -- for every attempt once the order ended, which nothing narrows again.
  if not done or done.scope ~= '*' then
    local v = done and done.v or 0
    redis.call('SET', hold.done, 'released:' .. v .. ':' .. scope, 'PX', doneTtlMs)
  end
  return { 'OK', done and 'released' or 'none' }
end
if not selling and scope ~= '*' and (h.attempt or '') ~= scope then
  -- This hold is a later attempt's: the one this release was for ended already.
  return { 'OK', 'released' }
end
if h.lines ~= ARGV[3] then
  return { 'KEYS_MISMATCH' }
end
local paired = pairHoldLines(h.lines, { unpack(KEYS, 6) })
if not paired then
  return { 'KEYS_MISMATCH' }
end
local now = nowMs()
if selling then
  finishHold(hold, h, paired, 'sold', 'sold', 'stock_sold', scope, doneTtlMs, now)
  return { 'OK', 'sold' }
end
finishHold(hold, h, paired, 'available', 'released', 'stock_released', scope, doneTtlMs, now)
return { 'OK', 'released' }
