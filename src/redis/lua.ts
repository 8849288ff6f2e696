/**
 * The Lua every script of scripts.ts is built from: the names a script works
 * on, the Cluster's slot probe, and the shared steps (hand over, settle,
 * fencing tokens, wake messages), of which each script includes only those
 * it calls. PROTOCOL.md describes them in prose ("Scripts", "Wake channels
 * and the grant rule"); the two must agree.
 *
 * @module
 */

/**
 * Which server a script runs on: a single Redis (or a replicated one), a
 * Redis Cluster, or a Redis Cluster with sharded pub/sub (Redis 7), where
 * grants go out with SPUBLISH on channels whose hash tag puts them in the
 * slot of the resource's keys. The external channel always uses PUBLISH:
 * sharded pub/sub has no pattern form, and following every resource needs
 * one.
 */
export type ScriptVariant = "single" | "cluster" | "sharded";

// While a Redis Cluster moves this resource's slot, some of its keys may be on
// the other master, and a script would take a live user for gone. Number 0
// never has a presence, so reading it with the dispenser is refused exactly
// while the slot is split (TRYAGAIN or ASK); the script then changes nothing
// and answers TRYAGAIN, which cluster clients retry. A single server has no
// slots, so its variant goes without.
const slotProbe = `
if type(redis.pcall('EXISTS', dispenser, prefix .. 0)) == 'table' then
  return redis.error_reply('TRYAGAIN turn: the slot of "' .. resource .. '" is moving')
end
`;

const head = (variant: ScriptVariant) => `
local dispenser, indicator = KEYS[1], KEYS[2]
local resource, base = ARGV[1], ARGV[2]
local prefix, tokens = base .. 'serial:', base .. 'token:'
${variant === "single" ? "" : slotProbe}`;

// The helpers, each after those it calls. A script includes only those it
// calls, directly or not, and those that only its rare path calls are defined
// there (see RARE_PATH): Lua makes a closure of every local function, with a
// cell for each enclosing local it uses, each time the script reaches it.
const helpers = (publish: string) => `
local function say(text) redis.call('PUBLISH', base .. 'external', resource .. ': ' .. text) end
local function announce(m) redis.call('${publish}', base .. 'internal', prefix .. m) end
-- A client of this module hears its grants on its own wake channel, named
-- by the first 16 digits of its draw tokens.
local function wake(t, text) redis.call('${publish}', base .. 'wake:' .. string.sub(t, 1, 16), text) end
local function alive(m) return redis.call('EXISTS', prefix .. m) == 1 end
local function counters()
  local v = redis.call('MGET', indicator, dispenser)
  return tonumber(v[1]), tonumber(v[2])
end
-- The newest number may belong to a turn 1.0 client that has drawn but not yet
-- set its presence, so it is skipped only when the caller has seen it missing
-- for a grace period and names it in 'skip'. 'known' is m's presence if the
-- caller has read it (false: missing), so that it is not read twice.
local function skippable(m, d, skip, known)
  return (m < d or m == skip) and not (known or (known == nil and alive(m)))
end
-- Issues the fencing token of a grant: one above the last ('last', if the
-- caller has read it already), and never below the server's clock in
-- microseconds. The clock is the floor so that a Redis that lost the key
-- (restarted empty, or a replica promoted before the last tokens reached it)
-- still issues tokens above those it lost, as long as its clock is not behind
-- the old one by more than the time the loss took. A string, since a Lua
-- number above 2^53 would lose digits on the way out.
local function fence_of(last)
  local key = base .. 'fence'
  -- false: the caller read it, and it was missing.
  if last == nil then last = redis.call('GET', key) end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local f = string.format('%.0f', math.max((tonumber(last) or 0) + 1, now))
  redis.call('SET', key, f)
  return f
end
-- The user of number m: its presence (false if gone), and its draw token if
-- it is a client of this module (its token key names the label its presence
-- holds), else false.
local function user_of(m)
  local v = redis.call('MGET', prefix .. m, tokens .. m)
  if v[1] and v[2] and string.sub(v[2], 33) == v[1] then return v[1], string.sub(v[2], 1, 32) end
  return v[1], false, v[2]
end
-- Ends the queue at m, past the dispenser: nobody has drawn m or can wait
-- for it. turn 1.0's followers still read that the turn went on, but nobody
-- is woken. The counters go in one DEL with the keys given.
local function close(m, ...)
  say(m .. ' granted')
  redis.call('DEL', dispenser, indicator, ...)
  return m
end
-- Hands the turn to the first live number from 'from'; an empty queue leaves
-- no keys. The announcement on the internal channel is turn 1.0's. A client
-- of this module is granted in its wake message: this script has just seen
-- its presence, so it starts at once, with the fencing token in the message
-- and no round trip to confirm. The proof is the SHA-1 of its draw token,
-- which never travels on a channel. Any other user is a turn 1.0 user, who
-- hands over on the internal channel only, so the first client of this
-- module behind it is told to listen there. A client of this module whose
-- number is skipped, or held by another's presence, is told so: it draws
-- again. 'last' is the fence key's value if the caller has read it (see
-- fence_of). The keys after it are the leaving holder's, deleted here so
-- that a queue that empties goes in one DEL. Returns the number, the
-- fencing token if it was granted so, and whether the number is live.
local function hand_over(from, d, skip, last, ...)
  local m, presence, t, stale = from, false, false, false
  while m <= d do
    presence, t, stale = user_of(m)
    if presence or (m == d and m ~= skip) then break end
    if stale then wake(stale, m .. ' skipped') end
    m = m + 1
  end
  if m > d then return close(m, ...) end
  if select('#', ...) > 0 then redis.call('DEL', ...) end
  announce(m)
  say(m .. ' granted')
  redis.call('SET', indicator, m)
  if not presence then return m end
  if t then
    local f = fence_of(last)
    say(m .. ' started (fence ' .. f .. ')')
    wake(t, m .. ' ' .. redis.sha1hex(t) .. ' ' .. f)
    return m, f, true
  end
  if stale then wake(stale, m .. ' skipped') end
  for k = m + 1, d do
    local _, u = user_of(k)
    if u then wake(u, k .. ' watch'); break end
  end
  return m, nil, true
end
-- Skips a head of the queue whose presence is gone; returns indicator, dispenser.
-- 'known' is the head's presence if the caller has read it (see skippable).
local function settle(i, d, skip, known)
  if i and d and i <= d and skippable(i, d, skip, known) then
    hand_over(i, d, skip)
    return counters()
  end
  return i, d
end
-- The head's number if it is the newest and has no presence: a follow-up must skip it.
local function stuck(i, d, known)
  if i and d and i == d and not (known or (known == nil and alive(i))) then return i end
  return 0
end
-- 1 when the holder is not known as a client of this module (a turn 1.0 user
-- hands over on the internal channel only). 'known' and 't' are what user_of
-- gave for i, if the caller has asked it already.
local function foreign(i, known, t)
  if known == nil then known, t = user_of(i) end
  if t then return 0 end
  return 1
end
-- The token check keeps a stalled client off a later user's keys; never
-- shortening a TTL stays as a second guard.
local function refresh(key, expire)
  if redis.call('PTTL', key) < tonumber(expire) then redis.call('PEXPIRE', key, expire) end
end
-- The presence TTL of the nearest live user ahead of the caller (from 'from'
-- down to 'to'), or -2 if none: the waiter asks again when it runs out, so a
-- holder that died is noticed within its expire, even behind dead waiters.
local function ttl_ahead(from, to)
  for k = from, to, -1 do
    local ttl = redis.call('PTTL', prefix .. k)
    if ttl ~= -2 then return ttl end
  end
  return -2
end
local function live_between(from, to)
  local k = 0
  for m = from, to do if alive(m) then k = k + 1 end end
  return k
end
`;

interface Helper {
  readonly name: string;
  readonly code: string;
}

function helpersOf(publish: string): Helper[] {
  // Each helper is a local function at column 0 with the comment above it.
  const found: Helper[] = [];
  let comment = "";
  for (const line of helpers(publish).split("\n")) {
    const name = /^local function (\w+)/.exec(line)?.[1];
    if (name) {
      found.push({ name, code: `${comment}${line}\n` });
      comment = "";
    } else if (line.startsWith("--")) comment += `${line}\n`;
    else if (found.length > 0) {
      const last = found[found.length - 1];
      found[found.length - 1] = { ...last, code: `${last.code}${line}\n` };
    }
  }
  return found;
}

/**
 * The helpers of `all` that `body` calls, directly or through one another,
 * and does not have in scope already (`defined`), in the order of `all`.
 */
function calledBy(
  body: string,
  all: readonly Helper[],
  defined: ReadonlySet<string> = new Set(),
): Helper[] {
  const calls = (text: string, name: string) =>
    new RegExp(`\\b${name}\\(`).test(text);
  const wanted = new Set<string>();
  let text = body;
  for (let grew = true; grew;) {
    grew = false;
    for (const helper of all) {
      const known = defined.has(helper.name) || wanted.has(helper.name);
      if (!known && calls(text, helper.name)) {
        wanted.add(helper.name);
        text += helper.code;
        grew = true;
      }
    }
  }
  return all.filter((helper) => wanted.has(helper.name));
}

const codeOf = (helpers: readonly Helper[]) =>
  helpers.map((helper) => helper.code).join("\n");

/**
 * Marks, in a script's body, where code off its common path starts: the
 * helpers that only this code calls are defined here, so that the common
 * path makes no closures for them. It ends at {@linkcode END_RARE_PATH}, or
 * with the body; what it defines must be in scope down to there (a block
 * that ends there, or the body's top level).
 */
export const RARE_PATH = "--[[ off the common path ]]";

/** Marks where the code that {@linkcode RARE_PATH} starts ends. */
export const END_RARE_PATH = "--[[ back on the common path ]]";

/**
 * A script's whole source: its names, the helpers it calls, `body`; those
 * that only its rare path calls are defined where that starts.
 */
export function source(variant: ScriptVariant, body: string): string {
  const publish = variant === "sharded" ? "SPUBLISH" : "PUBLISH";
  const all = helpersOf(publish);
  const [above, rest = "", ...more] = body.split(RARE_PATH);
  const [rare, below = "", ...after] = rest.split(END_RARE_PATH);
  // A second mark would drop the code after it.
  if (more.length > 0 || after.length > 0) {
    throw new Error("a script has at most one rare path, marked once");
  }
  const common = calledBy(above + below, all);
  const names = new Set(common.map(({ name }) => name));
  const only = calledBy(rare, all, names);
  const defined = only.length > 0 ? `${codeOf(only)}\n` : "";
  const top = `${head(variant)}\n${codeOf(common)}\n`;
  return `${top}${above}${defined}${rare}${below}`;
}
