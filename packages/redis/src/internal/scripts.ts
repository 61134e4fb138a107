/**
 * Every Lua script agentapp runs on Redis, each with its keys and the reply it
 * gives, checked when it arrives (a reply of another shape is a `RedisError`).
 */
import type { Script } from "../RedisConnection.ts"

const isZeroOrOne = (reply: unknown): reply is 0 | 1 => reply === 0 || reply === 1
const isStrings = (reply: unknown): reply is Array<string> =>
  Array.isArray(reply) && reply.every((item) => typeof item === "string")

// --- interrupts: KEYS lease, state ---

/** ARGV: run id, lease TTL ms. 1 when renewed, 0 when the lease is another's or gone. */
export const renewLease: Script<0 | 1> = {
  keys: 1,
  lua: `
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`,
  reply: isZeroOrOne
}

// ARGV: run id, lease TTL ms, state JSON, state TTL ms: takes the lease if it is free, with the state
const takeIfFree = `
if redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2], "NX") then
  redis.call("SET", KEYS[2], ARGV[3], "PX", ARGV[4])
  return 1
end`

/** 1 when the lease was free and is taken, 0 when another run holds it. */
export const startRun: Script<0 | 1> = {
  keys: 2,
  lua: `${takeIfFree}
return 0`,
  reply: isZeroOrOne
}

/**
 * KEYS: lease, state, the user's set of lease keys; ARGV as `takeIfFree`,
 * then the most runs per user and the set's TTL ms. 1 taken, 0 busy, 2 when
 * the user's leases that are still live are as many as allowed (the dead
 * are dropped from the set as they are found). The set names lease keys, so
 * this script reads keys it is not given: fine on one Redis, not a cluster.
 */
export const startRunLimited: Script<0 | 1 | 2> = {
  keys: 3,
  lua: `
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
local live = 0
for _, lease in ipairs(redis.call("SMEMBERS", KEYS[3])) do
  if redis.call("EXISTS", lease) == 1 then live = live + 1 else redis.call("SREM", KEYS[3], lease) end
end
if live >= tonumber(ARGV[5]) then return 2 end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
redis.call("SET", KEYS[2], ARGV[3], "PX", ARGV[4])
redis.call("SADD", KEYS[3], KEYS[1])
redis.call("PEXPIRE", KEYS[3], ARGV[6])
return 1`,
  reply: (reply): reply is 0 | 1 | 2 => reply === 0 || reply === 1 || reply === 2
}

/** 1 taken again, 0 still the run's own, -1 another run's. */
export const retakeRun: Script<1 | 0 | -1> = {
  keys: 2,
  lua: `${takeIfFree}
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return 0
end
return -1`,
  reply: (reply): reply is 1 | 0 | -1 => reply === 1 || reply === 0 || reply === -1
}

/** ARGV: run id, state JSON, state TTL ms. Records the end; frees the lease if the run holds it. */
export const endRun: Script<1> = {
  keys: 2,
  lua: `
redis.call("SET", KEYS[2], ARGV[2], "PX", ARGV[3])
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("DEL", KEYS[1])
end
return 1`,
  reply: (reply): reply is 1 => reply === 1
}

/**
 * KEYS: lease, stop channel; ARGV: message. Publishes whatever the lease (a
 * run may have lost it to a Redis restart): how many nodes received it, and
 * the lease's remaining ms (negative when there is none).
 */
export const signalStop: Script<readonly [receivers: number, leaseTtl: number]> = {
  keys: 2,
  lua: `
local receivers = redis.call("PUBLISH", KEYS[2], ARGV[1])
return { receivers, redis.call("PTTL", KEYS[1]) }`,
  reply: (reply): reply is readonly [number, number] =>
    Array.isArray(reply) && reply.length === 2 && typeof reply[0] === "number" && typeof reply[1] === "number"
}

// --- sessions: KEYS history, state, turn; ARGV max history, TTL ms, turn id ("" for none), messages' JSON ---

// appends the messages, keeps the newest, counts them in the turn hash's `total`, refreshes the expiry
const appendLua = `
for i = 4, #ARGV do redis.call("RPUSH", KEYS[1], ARGV[i]) end
redis.call("HINCRBY", KEYS[3], "total", #ARGV - 3)
redis.call("LTRIM", KEYS[1], -tonumber(ARGV[1]), -1)
redis.call("PEXPIRE", KEYS[1], ARGV[2])
redis.call("PEXPIRE", KEYS[2], ARGV[2])
redis.call("PEXPIRE", KEYS[3], ARGV[2])`

/** Appends to the history, once per turn (a reply appended again by a retried task is left out). */
export const appendHistory: Script<0 | 1> = {
  keys: 3,
  lua: `
if ARGV[3] ~= "" then
  if redis.call("HGET", KEYS[3], "replied") == ARGV[3] then return 0 end
  redis.call("HSET", KEYS[3], "replied", ARGV[3])
end
${appendLua}
return 1`,
  reply: isZeroOrOne
}

/**
 * Gives the history as it was before the turn's input, and appends the
 * input; the latest turn started again gives the same and appends nothing.
 */
export const startTurn: Script<Array<string>> = {
  keys: 3,
  lua: `
if ARGV[3] ~= "" then
  local turn = redis.call("HMGET", KEYS[3], "turn", "at", "total")
  if turn[1] == ARGV[3] then
    local first = tonumber(turn[3] or "0") - redis.call("LLEN", KEYS[1])
    local upto = tonumber(turn[2]) - first
    if upto <= 0 then return {} end
    return redis.call("LRANGE", KEYS[1], 0, upto - 1)
  end
end
local before = redis.call("LRANGE", KEYS[1], 0, -1)
if ARGV[3] ~= "" then
  redis.call("HSET", KEYS[3], "turn", ARGV[3], "at", redis.call("HGET", KEYS[3], "total") or "0")
end
${appendLua}
return before`,
  reply: isStrings
}

// --- run logs: KEYS stream, meta, latest (open, append) or stream, meta, lease (markLost) ---

/**
 * ARGV: user, session, run id, lease key, response id, live TTL ms. Starts a
 * run's log afresh; 0 when a log under the id is live or another session's.
 */
export const openLog: Script<0 | 1> = {
  keys: 3,
  lua: `
local known = redis.call("HMGET", KEYS[2], "ended", "user", "session")
if known[1] and (known[1] ~= "1" or known[2] ~= ARGV[1] or known[3] ~= ARGV[2]) then
  return 0
end
redis.call("DEL", KEYS[1], KEYS[2])
redis.call("HSET", KEYS[2], "user", ARGV[1], "session", ARGV[2], "run", ARGV[3], "lease", ARGV[4], "ended", "0")
redis.call("PEXPIRE", KEYS[2], ARGV[6])
redis.call("SET", KEYS[3], ARGV[5], "PX", ARGV[6])
return 1`,
  reply: isZeroOrOne
}

// appends a chunk (ARGV: 7 its last sequence number, 8 its first, 9 its frames) as the entry
// `<last>-1`, drops the entries all older than ARGV[2], and publishes the chunk
const appendChunk = `
redis.call("XADD", KEYS[1], "MINID", "~", ARGV[2], ARGV[7] .. "-1", "s", ARGV[8], "f", ARGV[9])
redis.call("PEXPIRE", KEYS[1], ARGV[3])
redis.call("PEXPIRE", KEYS[2], ARGV[3])
redis.call("PUBLISH", ARGV[1], ARGV[8] .. " " .. ARGV[7] .. "\\n" .. ARGV[9])`

/**
 * ARGV: channel, oldest sequence number kept, TTL ms, ended (0/1), (unused),
 * response id, the chunk (last, first, frames), and, for a log that starts
 * with this chunk (a fresh id, never checked), user, session, run id, lease
 * key. 0 when the log has ended (or expired) and takes no more.
 */
export const appendLog: Script<0 | 1> = {
  keys: 3,
  lua: `
if #ARGV > 9 then
  redis.call("HSET", KEYS[2], "user", ARGV[10], "session", ARGV[11], "run", ARGV[12], "lease", ARGV[13], "ended", "0")
  redis.call("SET", KEYS[3], ARGV[6], "PX", ARGV[3])
elseif redis.call("HGET", KEYS[2], "ended") ~= "0" then
  return 0
end${appendChunk}
if ARGV[4] == "1" then
  redis.call("HSET", KEYS[2], "ended", "1")
  if redis.call("GET", KEYS[3]) == ARGV[6] then
    redis.call("PEXPIRE", KEYS[3], ARGV[3])
  end
end
return 1`,
  reply: isZeroOrOne
}

/**
 * The same ARGV as `appendLog` (a chunk of one terminal frame), KEYS stream,
 * meta, lease: ends the log of a run whose lease is gone (its node died). 1
 * when ended so, 0 when the run lives or the log has ended, 2 when frames
 * came after the caller read (it reads again).
 */
export const markLost: Script<0 | 1 | 2> = {
  keys: 3,
  lua: `
if redis.call("HGET", KEYS[2], "ended") ~= "0" then
  return 0
end
if redis.call("GET", KEYS[3]) == redis.call("HGET", KEYS[2], "run") then
  return 0
end
local last = redis.call("XREVRANGE", KEYS[1], "+", "-", "COUNT", 1)
if #last > 0 and tonumber(string.match(last[1][1], "^(%d+)")) >= tonumber(ARGV[8]) then
  return 2
end${appendChunk}
redis.call("HSET", KEYS[2], "ended", "1")
return 1`,
  reply: (reply): reply is 0 | 1 | 2 => reply === 0 || reply === 1 || reply === 2
}

// --- queues of waiting runs: KEYS queue (a list of tickets); ARGV[1] ticket, then a ticket's live key is ARGV[2] .. ticket ---

// drops the tickets at the head whose live key has expired (their node died)
const dropDeadHeads = `
local head = redis.call("LINDEX", KEYS[1], 0)
while head and redis.call("EXISTS", ARGV[2] .. head) == 0 do
  redis.call("LPOP", KEYS[1])
  head = redis.call("LINDEX", KEYS[1], 0)
end`

/** ARGV: ticket, live key prefix, max, TTL ms. 1 when queued, 0 when the queue is full. */
export const joinQueue: Script<0 | 1> = {
  keys: 1,
  lua: `
for _, ticket in ipairs(redis.call("LRANGE", KEYS[1], 0, -1)) do
  if redis.call("EXISTS", ARGV[2] .. ticket) == 0 then
    redis.call("LREM", KEYS[1], 0, ticket)
  end
end
if redis.call("LLEN", KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call("RPUSH", KEYS[1], ARGV[1])
redis.call("SET", ARGV[2] .. ARGV[1], "1", "PX", ARGV[4])
redis.call("PEXPIRE", KEYS[1], ARGV[4])
return 1`,
  reply: isZeroOrOne
}

/** ARGV: ticket, live key prefix, TTL ms. Renews the ticket; 1 when it is first. */
export const queueTurn: Script<0 | 1> = {
  keys: 1,
  lua: `
if redis.call("SET", ARGV[2] .. ARGV[1], "1", "PX", ARGV[3], "XX") == false then
  return 0
end
redis.call("PEXPIRE", KEYS[1], ARGV[3])${dropDeadHeads}
if head == ARGV[1] then
  return 1
end
return 0`,
  reply: isZeroOrOne
}

/** ARGV: ticket, live key prefix. */
export const leaveQueue: Script<1> = {
  keys: 1,
  lua: `
redis.call("LREM", KEYS[1], 0, ARGV[1])
redis.call("DEL", ARGV[2] .. ARGV[1])
return 1`,
  reply: (reply): reply is 1 => reply === 1
}
