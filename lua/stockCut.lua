--[[
  Reads products' stock counters and the event stream's position together: one
  consistent cut for the stock check. Read-only.

  Resend rule: read-only: a resend reads again.

  Input:
    KEYS[1]    events stream
    KEYS[2..]  product hashes

  Output:
    {lastEventId, {available, reserved, sold, version} per product}
    lastEventId is '0-0' when the stream does not exist; a product Redis does
    not hold has false counters.
]]
local eventsKey = KEYS[1]

local lastId = '0-0'
if redis.call('EXISTS', eventsKey) == 1 then
  local info = redis.call('XINFO', 'STREAM', eventsKey)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      lastId = info[i + 1]
    end
  end
end

local reply = { lastId }
for i = 2, #KEYS do
  reply[i] = redis.call('HMGET', KEYS[i], 'available', 'reserved', 'sold', 'v')
end
return reply
