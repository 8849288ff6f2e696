/**
 * The Lua scripts that change a queue on Redis. Every state change is one
 * script, so no interleaving of clients can move the indicator backwards or
 * grant two users at once. PROTOCOL.md describes them in prose ("Scripts");
 * the two must agree.
 *
 * @module
 */

import type { ResourceKeys } from "./keys.ts";

/**
 * How long a missing presence on the newest number is given before it counts
 * as gone. A turn 1.0 client sets its presence one round trip after drawing,
 * so "no presence yet" and "dead" look the same for a moment.
 */
export const NEWEST_GRACE_MS = 100;

// ---------------------------------------------------------------------------
// Lua scripts. Every script takes KEYS[1] = dispenser, KEYS[2] = indicator
// and, where a user is concerned, KEYS[3..5] = that user's presence, token
// and draw keys (the draw takes only its draw key, as KEYS[3]); ARGV
// starts with the resource, the presence prefix, the internal and the
// external channel (see `commonArgs`), followed by the script's own.

/**
 * How scripts publish on the internal channel: PUBLISH, or SPUBLISH (sharded
 * pub/sub, Redis 7) on a Redis Cluster, where the channel's hash tag puts it
 * in the slot of the resource's keys. The external channel always uses
 * PUBLISH: sharded pub/sub has no pattern form, and following every resource
 * needs one.
 */
export type InternalPublish = "PUBLISH" | "SPUBLISH";

const prelude = (publish: InternalPublish) => `
local dispenser, indicator = KEYS[1], KEYS[2]
local resource, prefix, internal, external = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local function say(text) redis.call('PUBLISH', external, resource .. ': ' .. text) end
local function announce(m) redis.call('${publish}', internal, prefix .. m) end
-- While a Redis Cluster moves this resource's slot, some of its keys may be on
-- the other master, and a script would take a live user for gone. Number 0
-- never has a presence, so reading it with the dispenser is refused exactly
-- while the slot is split (TRYAGAIN or ASK); the script then changes nothing
-- and answers TRYAGAIN, which cluster clients retry. Elsewhere it costs one read.
if type(redis.pcall('EXISTS', dispenser, prefix .. 0)) == 'table' then
  return redis.error_reply('TRYAGAIN turn: the slot of "' .. resource .. '" is moving')
end
local function alive(m) return redis.call('EXISTS', prefix .. m) == 1 end
local function counters()
  return tonumber(redis.call('GET', indicator)), tonumber(redis.call('GET', dispenser))
end
-- The newest number may belong to a turn 1.0 client that has drawn but not yet
-- set its presence, so it is skipped only when the caller has seen it missing
-- for a grace period and names it in 'skip'.
local function skippable(m, d, skip)
  return not alive(m) and (m < d or m == skip)
end
-- Hands the turn to the first live number from 'from'; an empty queue leaves no keys.
local function hand_over(from, d, skip)
  local m = from
  while m <= d and skippable(m, d, skip) do m = m + 1 end
  announce(m)
  say(m .. ' granted')
  if m > d then redis.call('DEL', dispenser, indicator) else redis.call('SET', indicator, m) end
  return m
end
-- Skips a head of the queue whose presence is gone; returns indicator, dispenser.
local function settle(skip)
  local i, d = counters()
  if not i or not d then return i, d end
  if i <= d and skippable(i, d, skip) then hand_over(i, d, skip); i, d = counters() end
  return i, d
end
-- The head's number if it is the newest and has no presence: a follow-up must skip it.
local function stuck()
  local i, d = counters()
  if i and d and i == d and not alive(i) then return i end
  return 0
end
-- The token check keeps a stalled client off a later user's keys; never
-- shortening a TTL stays as a second guard.
local function refresh(key, expire)
  if redis.call('PTTL', key) < tonumber(expire) then redis.call('PEXPIRE', key, expire) end
end
-- Issues the fencing token of a grant: one above the last, and never below
-- the server's clock in microseconds. The clock is the floor so that a Redis
-- that lost the key (restarted empty, or a replica promoted before the last
-- tokens reached it) still issues tokens above those it lost, as long as its
-- clock is not behind the old one by more than the time the loss took.
-- A string, since a Lua number above 2^53 would lose digits on the way out.
local function fence_of(key)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local f = math.max((tonumber(redis.call('GET', key)) or 0) + 1, now)
  f = string.format('%.0f', f)
  redis.call('SET', key, f)
  return f
end
local function live_between(from, to)
  local k = 0
  for m = from, to do if alive(m) then k = k + 1 end end
  return k
end
`;

/** One Lua script: its name (for ioredis `defineCommand`) and source. */
export interface Script {
  readonly name: string;
  readonly keys: number;
  readonly lua: string;
  /** The same script announcing grants with SPUBLISH, for a Redis Cluster. */
  readonly sharded?: Script;
}

function script(name: string, keys: number, body: string): Script {
  return {
    name,
    keys,
    lua: prelude("PUBLISH") + body,
    sharded: { name: `${name}Sharded`, keys, lua: prelude("SPUBLISH") + body },
  };
}

/** The variant of `script` that publishes grants with `publish`. */
export function scriptFor(script: Script, publish: InternalPublish): Script {
  return publish === "SPUBLISH" ? script.sharded ?? script : script;
}

/**
 * The first steps of every script about one user: KEYS[3] its presence,
 * KEYS[4] its number's token key, KEYS[5] its draw key.
 */
const user = `
local mine, token_key, draw_key = KEYS[3], KEYS[4], KEYS[5]
-- The caller is the user of its number while the presence holds its label and
-- the token key its draw token. A user who drew the same number and label
-- after the queue restarted wrote its own token there, so a caller whose
-- number was skipped never takes that user's place.
local function owns(label, token)
  return redis.call('GET', token_key) == token and redis.call('GET', mine) == label
end
-- Deletes what is left of the caller's draw; true if its token key was still
-- there (the first time only, so a script sent twice says nothing twice).
local function forget(label, token)
  local had = redis.call('GET', token_key) == token
  if had then
    if redis.call('GET', mine) == label then redis.call('DEL', mine) end
    redis.call('DEL', token_key)
  end
  redis.call('DEL', draw_key)
  return had
end
`;

/**
 * draw: KEYS[3] the draw key of `token`. ARGV label, expire ms, try (1: only
 * if nobody holds or waits), skip, token, token prefix, fence key.
 * Returns `{n, 1, fence}` when granted at once, `{n, 0, indicator}` when waiting,
 * `{0, indicator, stuck}` when `try` found the resource busy. A draw sent
 * again with the same token returns the number it drew the first time.
 */
export const DRAW: Script = script(
  "turnDraw",
  3,
  `
local label, expire, try, skip = ARGV[5], ARGV[6], ARGV[7] == '1', tonumber(ARGV[8])
local token, tokens, fence, draw_key = ARGV[9], ARGV[10], ARGV[11], KEYS[3]
-- The same draw again (its reply was lost and the client resent it): report
-- the number it drew rather than leave that one behind as a ghost.
local drawn = tonumber(redis.call('GET', draw_key))
if drawn and redis.call('GET', tokens .. drawn) == token then
  local i = tonumber(redis.call('GET', indicator))
  if i == drawn then return {drawn, 1, fence_of(fence)} end
  if i and i < drawn then return {drawn, 0, i} end
end
settle(skip)
redis.call('MSETNX', dispenser, 0, indicator, 1)
local i, d = counters()
if try and i and i <= d then return {0, i, stuck()} end
local n = redis.call('INCR', dispenser)
if not i or i > n then i = n; redis.call('SET', indicator, n) end
redis.call('SET', prefix .. n, label, 'PX', expire)
redis.call('SET', tokens .. n, token, 'PX', expire)
redis.call('SET', draw_key, n, 'PX', expire)
say(n .. ' assigned to "' .. label .. '"')
if i == n then say(n .. ' started'); return {n, 1, fence_of(fence)} end
return {n, 0, i}
`,
);

/**
 * poll: a waiter's heartbeat and check. ARGV n, label, expire ms, skip,
 * token, fence key. Returns `{1, fence}` when the turn is the caller's (and announces it
 * started), `{0, indicator, holderTtlMs}` while waiting, `{-1}` when the
 * caller no longer owns its number or was skipped (it must draw again).
 */
export const POLL: Script = script(
  "turnPoll",
  5,
  user + `
local n, label, expire, skip, token = tonumber(ARGV[5]), ARGV[6], ARGV[7], tonumber(ARGV[8]), ARGV[9]
local fence = ARGV[10]
if not owns(label, token) then
  if forget(label, token) then say(n .. ' lapsed') end
  return {-1}
end
refresh(mine, expire)
refresh(token_key, expire)
local i = settle(skip)
if not i or i > n then forget(label, token); say(n .. ' lapsed'); return {-1} end
if i == n then say(n .. ' started'); return {1, fence_of(fence)} end
return {0, i, redis.call('PTTL', prefix .. i)}
`,
);

/**
 * renew: a holder's heartbeat. ARGV n, label, expire ms, token. Returns 1
 * while the caller still holds the turn, 0 when its lease is lost.
 */
export const RENEW: Script = script(
  "turnRenew",
  5,
  user + `
local n, label, expire, token = tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[8]
if not owns(label, token) then return 0 end
if tonumber(redis.call('GET', indicator)) ~= n then return 0 end
refresh(mine, expire)
refresh(token_key, expire)
return 1
`,
);

/**
 * release: the caller leaves, as holder (`completed`, `crashed`) or as
 * waiter (`left`). ARGV n, label, outcome, skip, token. Hands the turn on
 * if it is still the caller's (its lease may have been lost meanwhile, as
 * when its connection dropped: if its number is still its own, nobody else
 * was granted); a waiter holding the newest number gives it back (DECR).
 * Returns `{wasHolder, usersAhead, stuck}`.
 */
export const RELEASE: Script = script(
  "turnRelease",
  5,
  user + `
local n, label, outcome, skip, token = tonumber(ARGV[5]), ARGV[6], ARGV[7], tonumber(ARGV[8]), ARGV[9]
local ours = owns(label, token)
local i, d = counters()
-- A gone presence counts as the caller's only where anyone could skip it, so a
-- stranger naming the newest number cannot pass a turn 1.0 user mid-draw.
local holder = i == n and (ours or (d ~= nil and skippable(n, d, skip)))
local ahead = 0
if i and i < n then ahead = live_between(i, n - 1) end
if holder and outcome == 'crashed' then say(n .. ' crashed!') end
if ours then redis.call('DEL', mine, token_key, draw_key) else forget(label, token) end
if holder and outcome == 'completed' then say(n .. ' completed by "' .. label .. '"') end
if ours and outcome == 'left' then say(n .. ' left') end
if holder then
  hand_over(n + 1, d, skip)
else
  -- The newest waiter leaving un-draws its number, so no gap is left behind.
  if ours and i and i < n and n == d then redis.call('DECR', dispenser) end
  settle(skip)
end
return {holder and 1 or 0, ahead, stuck()}
`,
);

/**
 * bump: turn 1.0's bump, atomic. ARGV skip, bumper (the number that ran out
 * of patience, or 0). Moves the indicator to the first live number and
 * announces it in every case. Returns the number granted, or 0 when the
 * resource has no queue.
 */
export const BUMP: Script = script(
  "turnBump",
  2,
  `
local skip, bumper = tonumber(ARGV[5]), tonumber(ARGV[6])
local i, d = counters()
if not i or not d then return 0 end
if bumper > 0 then say(bumper .. ' bumps') end
if i > d or skippable(i, d, skip) then return hand_over(i, d, skip) end
announce(i)
say(i .. ' granted')
return i
`,
);

/**
 * reset: turn 1.0's reset tool, atomic. ARGV forget (1: also delete the
 * fence key once no queue is left), fence key. Returns `{'missing', 0}`,
 * `{'in-use', users}` or `{'reset', 0}`.
 */
export const RESET: Script = script(
  "turnReset",
  2,
  `
local forget, fence = ARGV[5] == '1', ARGV[6]
-- Forgetting the fence restarts tokens on purpose: only with no queue left.
local function done(outcome)
  if forget then redis.call('DEL', fence) end
  return {outcome, 0}
end
local i, d = counters()
if not i or not d then return done('missing') end
if d >= i then
  say('Reset tool bumps.')
  hand_over(i, d, d)
  i, d = counters()
  if not i then return done('reset') end
  local users = live_between(i, d)
  if users > 0 then return {'in-use', users} end
end
redis.call('DEL', dispenser, indicator)
return done('reset')
`,
);

/**
 * status: ARGV none beyond the common ones. Returns `{}` when the resource
 * has no queue, else `{indicator, dispenser, n1, label1, ttl1, ...}` for each
 * live user, in number order.
 */
export const STATUS: Script = script(
  "turnStatus",
  2,
  `
local i, d = counters()
if not i or not d then return {} end
local out = {i, d}
for m = i, d do
  local label = redis.call('GET', prefix .. m)
  if label then
    out[#out + 1] = m
    out[#out + 1] = label
    out[#out + 1] = redis.call('PTTL', prefix .. m)
  end
end
return out
`,
);

/** Every script, for registration with a client. */
export const SCRIPTS: readonly Script[] = [
  DRAW,
  POLL,
  RENEW,
  RELEASE,
  BUMP,
  RESET,
  STATUS,
];

/** The ARGV every script starts with. */
export function commonArgs(keys: ResourceKeys): string[] {
  return [keys.resource, keys.presencePrefix, keys.internal, keys.external];
}
