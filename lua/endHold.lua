--[[
  Ends an order's hold in this partition (holdLines.lua): `release` puts its
  units back on sale (a checkout refused elsewhere, an order cancelled,
  expired or rejected), `sell` makes them sold (its payment was confirmed).
  Records what became of the hold for a while, so a late resend of the hold
  is refused rather than reserving again.

  Resend rule: a hold that ended answers OK with what became of it, and moves
  nothing. Releasing a hold that never came records the release anyway, so a
  hold sent before and arriving after it is refused.

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
local outcome = selling and 'sold' or 'released'

if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
local done = redis.call('GET', hold.done)
if done == outcome then
  return { 'OK', done }
elseif done then
  return { 'INVALID_STATE', done }
end
local h = hashToTable(hold.key)
if not h.status then
  if selling then
    return { 'NOT_FOUND' }
  end
  redis.call('SET', hold.done, 'released', 'PX', tonumber(ARGV[4]))
  return { 'OK', 'none' }
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
  finishHold(hold, h, paired, 'sold', 'sold', 'stock_sold', tonumber(ARGV[4]), now)
else
  finishHold(hold, h, paired, 'available', 'released', 'stock_released', tonumber(ARGV[4]), now)
end
return { 'OK', outcome }
