--[[
  Expires a draft order nobody checked out in time, so abandoned drafts do not
  pile up in Redis. Drafts hold no stock, so nothing moves. Safe to call from
  several sweepers at once: the state is checked again here.

  Resend rule: the state is checked on every call: a resend finds the draft
  expired, answers SKIPPED and moves nothing.

  Input:
    KEYS[1]  readiness marker
    KEYS[2]  order hash
    KEYS[3]  drafts sorted set (order id scored by when the draft expires, ms)
    KEYS[4]  events stream
    KEYS[5]  open orders per customer hash

    ARGV[1]  order id

  Output:
    {'OK'}
    {'REBUILDING'}        Redis lost its data and is being rebuilt
    {'NOT_DUE'}
    {'SKIPPED', status}   the order is no longer a draft (entry removed)
    {'NOT_FOUND'}         the order is gone (entry removed)
]]
--- @include "common"
local orderKey = KEYS[2]
local draftsKey = KEYS[3]
local eventsKey = KEYS[4]
local openOrdersKey = KEYS[5]
local orderId = ARGV[1]

if rebuilding(KEYS[1]) then
  return { 'REBUILDING' }
end
local status = redis.call('HGET', orderKey, 'status')
if not status then
  redis.call('ZREM', draftsKey, orderId)
  return { 'NOT_FOUND' }
end
if status ~= 'draft' then
  redis.call('ZREM', draftsKey, orderId)
  return { 'SKIPPED', status }
end

local now = nowMs()
local due = tonumber(redis.call('ZSCORE', draftsKey, orderId) or '0')
if now < due then
  return { 'NOT_DUE' }
end
closeOpenOrder(openOrdersKey, redis.call('HGET', orderKey, 'customer_id'))
redis.call('HSET', orderKey, 'status', 'expired', 'updated_at', fmt(now))
redis.call('HINCRBY', orderKey, 'v', 1)
redis.call('ZREM', draftsKey, orderId)
appendEvent(eventsKey, 'order_expired', now, eventFields(orderKey, nil, nil))
return { 'OK' }
