/**
 * Where turn's handoff gap goes (scenario 2's shape, turn only). A third
 * process follows the resource's messages and notes when each arrives. The
 * holder's release script publishes `<n> granted` and, when it grants a
 * user of this module in its wake message, `<n> started` too (a grant by
 * poll publishes `started` later, from the poll). So, for each handoff
 * while someone waited:
 *
 * - release → `granted` seen: the holder's release reaching Redis and
 *   running (plus the follower's own wake-up);
 * - `granted` → `started` seen: about 0 when the announcement was the grant;
 *   a confirming round trip when a poll granted it;
 * - `started` seen → grant: the next user being woken by its wake message,
 *   minus the follower's wake-up.
 *
 * Usage: `deno run -A bench/diagnose_gap.ts [processes]` (default 4).
 *
 * @module
 */

import { startRedis } from "../support/redis_server.ts";
import { Locker } from "../mod.ts";
import { now } from "./clock.ts";
import type { CyclesResult, Granted } from "./jobs.ts";
import { Pool } from "./pool.ts";
import { median } from "./stats.ts";

const processes = Number(Deno.args[0] ?? 4);
await using server = await startRedis();
await using pool = new Pool(processes);
await pool.ready();
await pool.runAll({
  kind: "open",
  peer: "turn",
  url: server.url,
  expire: 10_000,
});
await using follower = new Locker({ url: server.url });
const resource = "bench:diagnose";
const follow = follower.follow([resource]);
await follow.ready;
// Numbers restart at 1 whenever the queue empties, so every arrival is kept.
const seen = new Map<string, number[]>();
const following = (async () => {
  for await (const event of follow) {
    const key = `${event.kind}:${event.number}`;
    seen.set(key, [...seen.get(key) ?? [], now()]);
  }
})();
/** The first arrival of `key` at or after `time`. */
const firstAfter = (key: string, time: number) =>
  seen.get(key)?.find((arrived) => arrived >= time);
const results = await pool.runAll<CyclesResult>({
  kind: "cycles",
  resource,
  cycles: 100,
  holdMs: 2,
  workMs: 1,
});
await follow.return();
await following;
const grants = results.flatMap((r) => r.cycles as Granted[])
  .sort((a, b) => a.grant - b.grant);
const parts = {
  releaseToGranted: [] as number[],
  grantedToStarted: [] as number[],
  startedToGrant: [] as number[],
  gap: [] as number[],
};
for (let i = 1; i < grants.length; i++) {
  const [previous, next] = [grants[i - 1], grants[i]];
  const granted = firstAfter(`granted:${next.ticket}`, previous.release);
  const started = granted && firstAfter(`started:${next.ticket}`, granted);
  if (next.ask > previous.release || !granted || !started) continue;
  parts.releaseToGranted.push(granted - previous.release);
  parts.grantedToStarted.push(started - granted);
  parts.startedToGrant.push(next.grant - started);
  parts.gap.push(next.grant - previous.release);
}
console.log(
  `${processes} processes, ${parts.gap.length} handoffs while someone waited; medians, ms:`,
);
for (const [name, values] of Object.entries(parts)) {
  console.log(`  ${name}: ${median(values).toFixed(3)}`);
}
