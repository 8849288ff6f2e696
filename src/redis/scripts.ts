/**
 * The Lua scripts that change a queue on Redis. Every state change is one
 * script, so no interleaving of clients can move the indicator backwards or
 * grant two users at once. PROTOCOL.md describes them in prose ("Scripts");
 * the two must agree.
 *
 * @module
 */

import type { ResourceKeys } from "./keys.ts";
import { END_RARE_PATH, RARE_PATH, type ScriptVariant, source } from "./lua.ts";

export type { ScriptVariant };

/**
 * How long a missing presence on the newest number is given before it counts
 * as gone. A turn 1.0 client sets its presence one round trip after drawing,
 * so "no presence yet" and "dead" look the same for a moment.
 */
export const NEWEST_GRACE_MS = 100;

// ---------------------------------------------------------------------------
// Lua scripts, built by lua.ts from each script's body and the shared steps
// it calls. Every script takes KEYS[1] = dispenser, KEYS[2] = indicator and,
// where a user is concerned, KEYS[3..5] = that user's presence, token and
// draw keys (the draw takes only its draw key, as KEYS[3]); ARGV starts with
// the resource and the prefix of its names (see `commonArgs`), followed by
// the script's own.

/** One Lua script: its name and its source for each kind of server. */
export interface Script {
  readonly name: string;
  readonly keys: number;
  /** The source for a single server. */
  readonly lua: string;
  /** The same script for a Redis Cluster, with and without sharded pub/sub. */
  readonly cluster?: Script;
  readonly sharded?: Script;
}

/**
 * Makes scripts whose source for each kind of server `sourceOf` builds from
 * their body: one for a single server, one for a Cluster, one for a Cluster
 * with sharded pub/sub.
 */
export function scriptsWith(
  sourceOf: (variant: ScriptVariant, body: string) => string,
): (name: string, keys: number, body: string) => Script {
  return (name, keys, body) => {
    const variant = (suffix: string, kind: ScriptVariant): Script => ({
      name: `${name}${suffix}`,
      keys,
      lua: sourceOf(kind, body),
    });
    return {
      ...variant("", "single"),
      cluster: variant("Cluster", "cluster"),
      sharded: variant("Sharded", "sharded"),
    };
  };
}

const script = scriptsWith(source);

/** The variant of `script` for a kind of server. */
export function scriptFor(script: Script, variant: ScriptVariant): Script {
  if (variant === "single") return script;
  return (variant === "sharded" ? script.sharded : script.cluster) ?? script;
}

/**
 * The first steps of every script about one user: KEYS[3] its presence,
 * KEYS[4] its number's token key, KEYS[5] its draw key.
 */
const user = `
local mine, token_key, draw_key = KEYS[3], KEYS[4], KEYS[5]
-- The caller is the user of its number while the presence holds its label and
-- the token key its draw token (followed by that label). A user who drew the
-- same number and label after the queue restarted wrote its own token there,
-- so a caller whose number was skipped never takes that user's place. The
-- keys given are read with the rest, and their values returned after it.
local function place(label, token, ...)
  local v = redis.call('MGET', token_key, mine, indicator, dispenser, ...)
  return v[1] == token .. label, v[2] == label, tonumber(v[3]), tonumber(v[4]), v[5]
end
`;

/**
 * What the scripts by which a user leaves add to `user`: what is left of a
 * draw, and deleting it.
 */
const leaving = `
-- What is left of the caller's draw, given whether its token key held its
-- token and its presence its label: the keys to delete.
local function leftovers(had, labelled)
  if had and labelled then return mine, token_key, draw_key end
  if had then return token_key, draw_key end
  return draw_key
end
-- Deletes what is left of the caller's draw; true if the token key was still
-- there (the first time only, so a script sent twice says nothing twice).
local function forget(had, labelled)
  redis.call('DEL', leftovers(had, labelled))
  return had
end
`;

/**
 * draw: KEYS[3] the draw key of `token`. ARGV label, expire ms, try (1: only
 * if nobody holds or waits), skip, token. Returns `{n, 1, fence}` when
 * granted at once, `{n, 0, indicator, foreign}` when waiting (`foreign`: 1
 * if the holder is not a client of this module), `{0, indicator, stuck}`
 * when `try` found the resource busy. A draw sent again with the same token
 * returns the number it drew the first time: a draw that waits leaves its
 * number in its draw key, and one granted at once is the head of the queue,
 * whose token key names it.
 */
export const DRAW: Script = script(
  "turnDraw",
  3,
  `
local label, expire, try, skip, token = ARGV[3], ARGV[4], ARGV[5] == '1', tonumber(ARGV[6]), ARGV[7]
local draw_key = KEYS[3]
local v = redis.call('MGET', draw_key, indicator, dispenser, base .. 'fence', base .. 'line')
-- Shared turns live in keys turn 1.0 never reads (turn:<r>:line and on); a
-- plain user beside them would not see them, so the two never share a resource.
-- The line is always a string (shared_scripts.ts), so MGET sees it.
if v[5] then return {-3, 0, 0} end
local drawn, i, d, last = tonumber(v[1]), tonumber(v[2]), tonumber(v[3]), v[4]
-- 'foreign' of the head, when the caller will wait behind it.
local behind
-- With no queue and no earlier draw, there is nothing to settle or find.
if i or drawn then
  ${RARE_PATH}
  -- The same draw again (its reply was lost and the client resent it): report
  -- the number it drew rather than leave that one behind as a ghost.
  if drawn and redis.call('GET', tokens .. drawn) == token .. label then
    if i == drawn then return {drawn, 1, fence_of()} end
    if i and i < drawn then return {drawn, 0, i, foreign(i)} end
  end
  local head = i
  -- The head's user, read once for the settle, the try and 'foreign'.
  local known, t
  if i and d and i <= d then known, t = user_of(i) end
  -- A live head has nothing to settle.
  if t ~= token then
    i, d = settle(i, d, skip, known)
    -- A settle that moved the indicator handed over: the new head is another
    -- user, and a fencing token may have been issued since 'last' was read.
    if i ~= head then
      last, known, t = nil, nil, nil
      if i and d and i <= d then known, t = user_of(i) end
    end
  end
  -- A draw granted at once wrote no draw key: sent again, it is the head (or
  -- the settle just made it so, after a turn 1.0 user's late release set the
  -- indicator back below it: that release is not atomic).
  if t == token then return {i, 1, fence_of(last)} end
  if try and i and d and i <= d then return {0, i, stuck(i, d, known)} end
  -- The caller waits exactly when the head is below the dispenser's next
  -- number (not 'i <= d': an indicator need not be a whole number).
  if i and i < (d or 0) + 1 then behind = foreign(i, known, t) end
end
${END_RARE_PATH}
-- turn 1.0's MSETNX dispenser 0 indicator 1, then INCR dispenser.
local n = redis.call('INCR', dispenser)
if not i or i > n then i = n; redis.call('SET', indicator, n) end
-- Lua formats a number anew at each concatenation: once is enough.
local digits = n .. ''
redis.call('SET', prefix .. digits, label, 'PX', expire)
redis.call('SET', tokens .. digits, token .. label, 'PX', expire)
say(digits .. ' assigned to "' .. label .. '"')
if i == n then
  local f = fence_of(last)
  say(digits .. ' started (fence ' .. f .. ')')
  return {n, 1, f}
end
-- Only a draw that waits needs its number kept by token (see above).
redis.call('SET', draw_key, n, 'PX', expire)
return {n, 0, i, behind}
`,
);

/**
 * poll: a waiter's heartbeat and check. ARGV n, label, expire ms, skip,
 * token. Returns `{1, fence}` when the turn is the caller's (and announces
 * it started), `{0, indicator, aheadTtlMs, foreign}` while waiting (the
 * presence TTL of the nearest live user ahead), `{-1}`
 * when the caller no longer owns its number or was skipped (it must draw
 * again).
 */
export const POLL: Script = script(
  "turnPoll",
  5,
  user + leaving + `
local n, label, expire, skip, token = tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local had, labelled, i, d = place(label, token)
if not (had and labelled) then
  if forget(had, labelled) then say(n .. ' lapsed') end
  return {-1}
end
refresh(mine, expire)
refresh(token_key, expire)
-- The head's user, read once for the settle and 'foreign', when it is not the caller.
local known, t
if i and d and i < n and i <= d then known, t = user_of(i) end
if i and d and i <= d and skippable(i, d, skip, known) then
  local m, f = hand_over(i, d, skip)
  -- Granted to the caller just now: its wake message says the same.
  if m == n and f then return {1, f} end
  i, d = counters()
  known = nil
end
if not i or i > n then forget(true, true); say(n .. ' lapsed'); return {-1} end
if i == n then local f = fence_of(); say(n .. ' started (fence ' .. f .. ')'); return {1, f} end
return {0, i, ttl_ahead(n - 1, i), foreign(i, known, t)}
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
local n, label, expire, token = tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local had, labelled, i = place(label, token)
if not (had and labelled) or i ~= n then return 0 end
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
  user + leaving + `
local n, label, outcome, skip, token = tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
-- The fence key too: a holder's hand-over issues the next token from it.
local had, labelled, i, d, last = place(label, token, base .. 'fence')
local ours = had and labelled
-- A gone presence counts as the caller's only where anyone could skip it, so a
-- stranger naming the newest number cannot pass a turn 1.0 user mid-draw.
local holder = i == n and (ours or (d ~= nil and skippable(n, d, skip)))
if holder and outcome == 'crashed' then say(n .. ' crashed!') end
if holder and outcome == 'completed' then say(n .. ' completed by "' .. label .. '"') end
if ours and outcome == 'left' then say(n .. ' left') end
-- Nobody behind the holder: the hand-over from n + 1 is past the dispenser at
-- once, and ends the queue with what is left of the draw.
if holder and d and n >= d then
  close(n + 1, leftovers(had, labelled))
  return {1, 0, 0}
end
${RARE_PATH}
local ahead = 0
if i and i < n then ahead = live_between(i, n - 1) end
if holder then
  -- The hand-over deletes what is left of the draw: with the queue's
  -- counters, in one DEL, when nobody is left.
  local m, _, live = hand_over(n + 1, d, skip, last, leftovers(had, labelled))
  if m == d and not live then return {1, ahead, m} end
  return {1, ahead, 0}
end
forget(had, labelled)
-- The newest waiter leaving un-draws its number, so no gap is left behind.
if ours and i and i < n and n == d then d = redis.call('DECR', dispenser) end
i, d = settle(i, d, skip)
return {0, ahead, stuck(i, d)}
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
local skip, bumper = tonumber(ARGV[3]), tonumber(ARGV[4])
local i, d = counters()
if not i or not d then return 0 end
if bumper > 0 then say(bumper .. ' bumps') end
if i > d or skippable(i, d, skip) then return hand_over(i, d, skip) end
-- The holder is alive: turn 1.0 announces it again, and so does this.
announce(i)
say(i .. ' granted')
return i
`,
);

/**
 * reset: turn 1.0's reset tool, atomic. ARGV forget (1: also delete the
 * fence key once no queue is left). Returns `{'missing', 0}`,
 * `{'in-use', users}` or `{'reset', 0}`.
 */
export const RESET: Script = script(
  "turnReset",
  2,
  `
local forget = ARGV[3] == '1'
-- Forgetting the fence restarts tokens on purpose: only with no queue left.
local function done(outcome)
  if forget then redis.call('DEL', base .. 'fence') end
  return {outcome, 0}
end
local i, d = counters()
if not i or not d then return done('missing') end
if d >= i then
  say('Reset tool bumps.')
  if skippable(i, d, d) then hand_over(i, d, d)
  else announce(i); say(i .. ' granted') end
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
 * has no queue, else `{indicator, dispenser, fence, n1, label1, ttl1, ...}`
 * for each live user, in number order (fence: the last token issued, `'0'`
 * if none).
 */
export const STATUS: Script = script(
  "turnStatus",
  2,
  `
local i, d = counters()
if not i or not d then return {} end
local out = {i, d, redis.call('GET', base .. 'fence') or '0'}
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

/**
 * The ARGV every script starts with: the resource, and the prefix of its
 * names (`turn:<r>:`, or `turn:{<r>}:` with a hash tag), from which the
 * scripts build the names of its presences, tokens, fence and channels.
 */
export function commonArgs(keys: ResourceKeys): string[] {
  return [keys.resource, keys.base];
}
