/**
 * The Lua scripts of shared turns (capacity N, shared and exclusive users)
 * on Redis. They work on the shared-turn key family (see shared_keys.ts),
 * apply the grant rule of `../grant_rule.ts`, and follow the conventions of
 * the plain scripts (scripts.ts): one script per state change, safe to run
 * twice, identity by draw token, fencing tokens from the resource's one
 * fence key. PROTOCOL.md ("Shared turns") describes them; the two must
 * agree.
 *
 * @module
 */

import { type Script, scriptsWith } from "./scripts.ts";
import type { ScriptVariant } from "./lua.ts";
import type { SharedKeys } from "./shared_keys.ts";

// As in the plain scripts: ticket 0 never exists, so this read is refused
// (TRYAGAIN or ASK) exactly while a Redis Cluster moves the resource's slot.
const slotProbe = `
if type(redis.pcall('EXISTS', line, prefix .. 0)) == 'table' then
  return redis.error_reply('TRYAGAIN turn: the slot of "' .. resource .. '" is moving')
end
`;

const prelude = (variant: ScriptVariant) => `
local line = KEYS[1]
local resource, prefix, wake, external = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local function say(text) redis.call('PUBLISH', external, resource .. ': ' .. text) end
${variant === "single" ? "" : slotProbe}
-- A ticket key holds '<token> <kind> <label>' and has a TTL: a user is live
-- while its ticket key exists.
local function ticket(m)
  local v = redis.call('GET', prefix .. m)
  if not v then return nil end
  local token, kind, label = string.match(v, '^(%x+) (%a+) (.*)$')
  return {token = token, kind = kind, label = label}
end
local function alive(m) return redis.call('EXISTS', prefix .. m) == 1 end
-- The line: capacity (0: no limit), last number drawn, head (no live number
-- below it), granted (the highest number ever granted in this queue).
local function load()
  local v = redis.call('GET', line)
  if not v then return nil end
  local c, last, head, granted = string.match(v, '^(%d+) (%d+) (%d+) (%d+)$')
  return {capacity = tonumber(c), last = tonumber(last), head = tonumber(head), granted = tonumber(granted)}
end
-- The line's TTL is never below a ticket's, so a queue whose users all died
-- leaves no keys once their tickets have expired.
local function save(s, expire)
  local ttl = redis.call('PTTL', line)
  redis.call('SET', line, string.format('%d %d %d %d', s.capacity, s.last, s.head, s.granted))
  local keep = math.max(ttl, tonumber(expire) or 0)
  if keep > 0 then redis.call('PEXPIRE', line, keep) end
end
-- The grant rule (grant_rule.ts): the live tickets from the head hold while
-- they are shared, up to the capacity; an exclusive one holds only at the
-- head, alone. Returns the holders' numbers; moves the head past dead ones.
local function holders(s)
  while s.head <= s.last and not alive(s.head) do s.head = s.head + 1 end
  local out = {}
  for m = s.head, s.last do
    local t = ticket(m)
    if t then
      if t.kind == 'exclusive' then
        if #out == 0 then out[1] = m end
        return out
      end
      if s.capacity > 0 and #out >= s.capacity then return out end
      out[#out + 1] = m
    end
  end
  return out
end
-- Announces every new holder but 'quiet' (the caller, who says 'started').
-- Holders are a head run, so every live number up to 'granted' holds.
local function grant(s, quiet)
  for _, m in ipairs(holders(s)) do
    if m > s.granted then
      if m ~= quiet then
        redis.call('${
  variant === "sharded" ? "SPUBLISH" : "PUBLISH"
}', wake, prefix .. m)
        say(m .. ' granted')
      end
      s.granted = m
    end
  end
end
-- Grants and stores; a queue left without live users leaves no keys.
local function settle(s, expire, quiet)
  grant(s, quiet)
  if s.head > s.last then redis.call('DEL', line); return false end
  save(s, expire)
  return true
end
-- A waiter's news: live users ahead, and the shortest TTL among them (when
-- the first of them may have died, so the waiter looks again).
local function waiting(s, n)
  local ahead, ttl = 0, -1
  for m = s.head, n - 1 do
    local p = redis.call('PTTL', prefix .. m)
    if p >= 0 then
      ahead = ahead + 1
      if ttl < 0 or p < ttl then ttl = p end
    end
  end
  return {n, 0, ahead, ttl}
end
-- Never shortens a TTL.
local function refresh(key, expire)
  if redis.call('PTTL', key) < tonumber(expire) then redis.call('PEXPIRE', key, expire) end
end
-- The fencing token of a grant, as in the plain scripts: one above the
-- resource's last, never below the server clock in microseconds; a string,
-- since a Lua number above 2^53 would lose digits.
local function fence_of(key)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local f = math.max((tonumber(redis.call('GET', key)) or 0) + 1, now)
  f = string.format('%.0f', f)
  redis.call('SET', key, f)
  return f
end
-- A grant taken: its fencing token, named in the 'started' message.
local function start(n, fence)
  local f = fence_of(fence)
  say(n .. ' started (fence ' .. f .. ')')
  return f
end
`;

const script = scriptsWith((variant, body) => prelude(variant) + body);

/**
 * draw: KEYS[2] the claim key of `token`. ARGV label, expire ms, try (1:
 * only if it holds at once), token, kind, capacity, fence key, and the
 * plain turn's dispenser, indicator and presence prefix. Returns
 * `{n, 1, fence}` when granted at once, `{n, 0, ahead, ttl}` when waiting,
 * `{0, 0}` when `try` found no place, `{-2, capacity}` when the queue has
 * another capacity, `{-3, 0}` when the resource has plain users. A draw
 * sent again with the same token answers for the number it drew.
 */
export const SHARED_DRAW: Script = script(
  "turnSharedDraw",
  2,
  `
local label, expire, try, token = ARGV[5], ARGV[6], ARGV[7] == '1', ARGV[8]
local kind, capacity, fence = ARGV[9], tonumber(ARGV[10]), ARGV[11]
local plain_dispenser, plain_indicator, plain_prefix = ARGV[12], ARGV[13], ARGV[14]
local claim = KEYS[2]
local s = load()
local drawn = tonumber(redis.call('GET', claim))
if s and drawn then
  local t = ticket(drawn)
  if t and t.token == token then
    settle(s, nil, 0)
    if drawn <= s.granted then return {drawn, 1, fence_of(fence)} end
    return waiting(s, drawn)
  end
end
-- Plain users (turn 1.0's protocol) never look at this family, so the two
-- must not share a resource: a plain holder would not see shared ones.
local pi, pd = tonumber(redis.call('GET', plain_indicator)), tonumber(redis.call('GET', plain_dispenser))
if pi and pd then
  for m = pi, pd do
    if redis.call('EXISTS', plain_prefix .. m) == 1 then return {-3, 0} end
  end
end
if s and not settle(s, nil, 0) then s = nil end
if s and s.capacity ~= capacity then return {-2, s.capacity} end
s = s or {capacity = capacity, last = 0, head = 1, granted = 0}
if try then
  local hs = holders(s)
  local live = 0
  for m = s.head, s.last do if alive(m) then live = live + 1 end end
  local busy = live > #hs or (#hs > 0 and (kind == 'exclusive'
    or ticket(hs[1]).kind == 'exclusive' or (s.capacity > 0 and #hs >= s.capacity)))
  if busy then return {0, 0} end
end
local n = s.last + 1
s.last = n
redis.call('SET', prefix .. n, token .. ' ' .. kind .. ' ' .. label, 'PX', expire)
redis.call('SET', claim, n, 'PX', expire)
say(n .. ' assigned to "' .. label .. '"')
settle(s, expire, n)
if n <= s.granted then return {n, 1, start(n, fence)} end
return waiting(s, n)
`,
);

/**
 * poll: a waiter's heartbeat and check. ARGV n, token, expire ms, fence key.
 * Returns `{1, fence}` when the caller holds (and says it started),
 * `{0, ahead, ttl}` while it waits, `{-1}` when its ticket is gone (it
 * lapsed: it must draw again).
 */
export const SHARED_POLL: Script = script(
  "turnSharedPoll",
  2,
  `
local n, token, expire, fence, claim = tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[8], KEYS[2]
local s, t = load(), ticket(n)
if not s or not t or t.token ~= token then
  if tonumber(redis.call('GET', claim)) == n then
    redis.call('DEL', claim)
    say(n .. ' lapsed')
  end
  if s then settle(s, nil, 0) end
  return {-1}
end
refresh(prefix .. n, expire)
refresh(claim, expire)
settle(s, expire, n)
if n <= s.granted then return {1, start(n, fence)} end
local w = waiting(s, n)
return {0, w[3], w[4]}
`,
);

/**
 * renew: a holder's heartbeat. ARGV n, token, expire ms. Returns 1 while the
 * caller holds, 0 when its lease is lost.
 */
export const SHARED_RENEW: Script = script(
  "turnSharedRenew",
  2,
  `
local n, token, expire, claim = tonumber(ARGV[5]), ARGV[6], ARGV[7], KEYS[2]
local s, t = load(), ticket(n)
if not s or not t or t.token ~= token or n > s.granted then return 0 end
refresh(prefix .. n, expire)
refresh(claim, expire)
refresh(line, expire)
return 1
`,
);

/**
 * release: the caller leaves, as holder (`completed`, `crashed`) or as
 * waiter (`left`). ARGV n, token, outcome. Its place goes to the next
 * tickets by the grant rule; the newest waiter gives its number back.
 * Returns `{wasHolder, usersAhead}`; sent again, it changes nothing.
 */
export const SHARED_RELEASE: Script = script(
  "turnSharedRelease",
  2,
  `
local n, token, outcome, claim = tonumber(ARGV[5]), ARGV[6], ARGV[7], KEYS[2]
local s, t = load(), ticket(n)
redis.call('DEL', claim)
if not s or not t or t.token ~= token then
  if s then settle(s, nil, 0) end
  return {0, 0}
end
local holder = n <= s.granted
local ahead = waiting(s, n)[3]
if holder and outcome == 'crashed' then say(n .. ' crashed!') end
redis.call('DEL', prefix .. n)
if holder and outcome == 'completed' then say(n .. ' completed by "' .. t.label .. '"') end
if outcome == 'left' then say(n .. ' left') end
if not holder and n == s.last then s.last = n - 1 end
settle(s, nil, 0)
return {holder and 1 or 0, ahead}
`,
);

/**
 * reset: the reset tool. ARGV forget (1: also delete the fence key when the
 * resource is left with no queue of either kind), fence key, the plain
 * dispenser. Grants what dead users held up; returns `{'missing', 0}`,
 * `{'in-use', users}` or `{'reset', 0}`.
 */
export const SHARED_RESET: Script = script(
  "turnSharedReset",
  1,
  `
local forget, fence, plain_dispenser = ARGV[5] == '1', ARGV[6], ARGV[7]
local function done(outcome)
  if forget and redis.call('EXISTS', plain_dispenser) == 0 then redis.call('DEL', fence) end
  return {outcome, 0}
end
local s = load()
if not s then return done('missing') end
say('Reset tool bumps.')
if not settle(s, nil, 0) then return done('reset') end
local users = 0
for m = s.head, s.last do if alive(m) then users = users + 1 end end
return {'in-use', users}
`,
);

/**
 * status: ARGV the fence key. Returns `{}` when the resource has no shared
 * queue, else `{capacity, granted, last, fence, n1, label1, ttl1, kind1,
 * ...}` for each live user in number order; those up to `granted` hold.
 */
export const SHARED_STATUS: Script = script(
  "turnSharedStatus",
  1,
  `
local s = load()
if not s then return {} end
local out = {s.capacity, s.granted, s.last, redis.call('GET', ARGV[5]) or '0'}
for m = s.head, s.last do
  local t = ticket(m)
  if t then
    out[#out + 1] = m
    out[#out + 1] = t.label
    out[#out + 1] = redis.call('PTTL', prefix .. m)
    out[#out + 1] = t.kind
  end
end
return out
`,
);

/** Every shared-turn script, for registration with a client. */
export const SHARED_SCRIPTS: readonly Script[] = [
  SHARED_DRAW,
  SHARED_POLL,
  SHARED_RENEW,
  SHARED_RELEASE,
  SHARED_RESET,
  SHARED_STATUS,
];

/** The ARGV every shared-turn script starts with. */
export function sharedArgs(keys: SharedKeys): string[] {
  return [keys.resource, keys.ticketPrefix, keys.wake, keys.plain.external];
}
