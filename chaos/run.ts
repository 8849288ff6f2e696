/**
 * One chaos run: the backend, the workers, the faults on schedule, the end
 * (every worker asked to finish and to exit by itself), a last user on
 * every resource, and what was left behind. Returns the history.
 *
 * @module
 */

import { Locker } from "../mod.ts";
import { PREFIX, resourceOf } from "../src/redis/keys.ts";
import { filesUnder } from "../support/files.ts";
import { type RedisServer, startRedis } from "../support/redis_server.ts";
import { drawFaults, type FaultPlan } from "./faults.ts";
import { probeLag } from "./lag.ts";
import { LONGEST_EXPIRE, SHARED_CAPACITY, SHARED_RESOURCE } from "./plan.ts";
import { type ChaosEvent, now, type RunSettings } from "./history.ts";
import { restartablePort } from "./port.ts";
import { clientKill, clientPause, turnKeys } from "./redis_faults.ts";
import { Random } from "./random.ts";
import { runTurn1 } from "./turn1_user.ts";
import { Workers } from "./workers.ts";

/** How long a worker may take to close its Locker once asked to finish. */
export const CLOSE_BOUND_MS = 30_000;
/** How long a worker may take to exit by itself once its Locker closed. */
export const EXIT_BOUND_MS = 5_000;
/** The last user's wait may take the longest expire and this much more. */
const LAST_USER_SLACK_MS = 5_000;

const sleep = (ms: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The server side of a run: a redis-server, or a lock directory. */
interface Backend {
  readonly url: string;
  /** Applies a fault aimed at the server; false if this backend has none. */
  fault(plan: FaultPlan, record: (event: ChaosEvent) => void): Promise<void>;
  /** What is left: keys in Redis, or files in the lock directory. */
  leftover(): Promise<string[]>;
  close(): Promise<void>;
}

async function redisBackend(): Promise<Backend> {
  let server: RedisServer = await startRedis({ port: restartablePort() });
  const { port } = server;
  let down = false;
  const fault = (
    event: Omit<ChaosEvent & { kind: "fault" }, "t" | "who" | "kind">,
    t = now(),
  ): ChaosEvent => ({ t, who: "chaos", kind: "fault", ...event });
  return {
    url: server.url,
    async fault(plan, record) {
      switch (plan.kind) {
        case "redis-kill":
          // One outage at a time: a second restart would find the port taken.
          if (down) return;
          down = true;
          record(fault({ fault: plan.kind, ms: plan.ms }));
          await server.stop("SIGKILL");
          await sleep(plan.ms);
          server = await startRedis({ port });
          down = false;
          record({ t: now(), who: "chaos", kind: "redis-up" });
          return;
        case "client-kill-pubsub":
        case "client-kill-command": {
          const type = plan.kind === "client-kill-pubsub" ? "pubsub" : "normal";
          const t = now();
          const target = await clientKill(port, type, plan.pick);
          if (target) record(fault({ fault: plan.kind, target }, t));
          return;
        }
        case "client-pause": {
          const t = now();
          if (await clientPause(port, plan.ms)) {
            record(fault({ fault: plan.kind, ms: plan.ms }, t));
          }
          return;
        }
      }
    },
    // Fence keys stay on purpose: one per resource ever granted.
    leftover: async () =>
      (await turnKeys(port, PREFIX)).filter((key) =>
        resourceOf(key, "fence") === undefined
      ),
    close: () => server.stop(),
  };
}

async function fileBackend(dir: string): Promise<Backend> {
  const root = `${dir}/locks`;
  await Deno.mkdir(root);
  return {
    url: new URL(`file://${root}`).href,
    fault: () => Promise.resolve(),
    leftover: () => filesUnder(root),
    close: () => Promise.resolve(),
  };
}

/**
 * Runs a chaos run with `settings` and returns its history (unchecked).
 *
 * @example
 * ```ts ignore
 * import { runChaos } from "./run.ts";
 * const history = await runChaos({
 *   seed: 7,
 *   seconds: 5,
 *   backend: "file",
 *   workers: 4,
 *   resources: ["r0", "r1", "r2"],
 * });
 * ```
 */
export async function runChaos(settings: RunSettings): Promise<ChaosEvent[]> {
  const history: ChaosEvent[] = [];
  const record = (event: ChaosEvent) => void history.push(event);
  record({ t: now(), who: "chaos", kind: "run", settings });
  const dir = await Deno.makeTempDir({ prefix: "turn-chaos-" });
  const witness = `${dir}/witness`;
  const backend = settings.backend === "redis"
    ? await redisBackend()
    : await fileBackend(dir);
  // The orchestrator runs turn 1.0 users and the last user in-process: a
  // rejection nobody handles there is recorded, not allowed to end the run.
  const unhandled = (event: PromiseRejectionEvent) => {
    event.preventDefault();
    const { reason } = event;
    record({
      t: now(),
      who: "chaos",
      kind: "unhandled",
      message: reason instanceof Error
        ? reason.stack ?? reason.message
        : String(reason),
    });
  };
  globalThis.addEventListener("unhandledrejection", unhandled);
  // The turn 1.0 users and the last user run in this process: its own lags
  // count against none of their bounds.
  const stopProbe = probeLag((event) => {
    if (event.kind === "lag") record({ who: "chaos", ...event });
  });
  try {
    const workers = new Workers(
      {
        seed: settings.seed,
        url: backend.url,
        witness,
        resources: settings.resources,
      },
      settings.workers,
      record,
    );
    await runFaults(settings, backend, workers, witness, record);
    await workers.end(CLOSE_BOUND_MS, EXIT_BOUND_MS);
    await lastUser(
      backend.url,
      [...settings.resources, SHARED_RESOURCE],
      record,
    );
    const items = await backend.leftover();
    record({ t: now(), who: "chaos", kind: "leftover", items });
  } finally {
    stopProbe();
    globalThis.removeEventListener("unhandledrejection", unhandled);
    await backend.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return history;
}

async function runFaults(
  settings: RunSettings,
  backend: Backend,
  workers: Workers,
  witness: string,
  record: (event: ChaosEvent) => void,
): Promise<void> {
  const schedule = drawFaults(
    Random.stream(settings.seed, "faults"),
    settings.seconds,
    settings.backend,
    settings.resources.length,
  );
  const start = now();
  const pending: Promise<void>[] = [];
  let turn1Users = 0;
  for (const plan of schedule) {
    await sleep(start + plan.at - now());
    const fault = (target: string) =>
      record({
        t: now(),
        who: "chaos",
        kind: "fault",
        fault: plan.kind,
        target,
        ms: plan.ms,
      });
    if (plan.kind === "sigkill" || plan.kind === "sigstop") {
      const worker = workers.choose(plan.role, plan.pick);
      if (worker === undefined) continue;
      fault(worker.who);
      if (plan.kind === "sigkill") workers.kill(worker, plan.ms);
      else workers.stop(worker, plan.ms);
    } else if (plan.kind === "turn1-crash" || plan.kind === "turn1-complete") {
      const who = `t1.${turn1Users++}`;
      fault(who);
      pending.push(runTurn1({
        who,
        port: Number(new URL(backend.url).port),
        resource: settings.resources[plan.resource],
        holdMs: plan.ms,
        crash: plan.kind === "turn1-crash",
        witness,
      }, record));
    } else {
      pending.push(backend.fault(plan, record));
    }
  }
  await sleep(start + settings.seconds * 1000 - now());
  await Promise.all(pending);
}

/**
 * Once every worker has left, one last user takes each resource in turn:
 * it must be granted once the presences of the killed ones run out, and
 * its leaving must remove what is left.
 */
async function lastUser(
  url: string,
  resources: readonly string[],
  record: (event: ChaosEvent) => void,
): Promise<void> {
  const who = "last.0";
  await using locker = new Locker({ url });
  let op = 0;
  const emit = (event: Record<string, unknown>) =>
    record({ t: now(), who, op, ...event } as ChaosEvent);
  for (const resource of resources) {
    op++;
    const timeout = LONGEST_EXPIRE + LAST_USER_SLACK_MS;
    // On the shared resource, a turn alone: granted once everyone is gone.
    const mode = resource === SHARED_RESOURCE
      ? { capacity: SHARED_CAPACITY, shared: false }
      : {};
    emit({
      kind: "op",
      call: "lock",
      resources: [resource],
      expire: 1000,
      timeout,
      ...mode,
    });
    emit({ kind: "acquiring", resource });
    try {
      const lock = await locker.lock(resource, {
        label: who,
        expire: 1000,
        timeout,
        ...mode,
      });
      emit({ kind: "granted", resource, number: lock.number });
      emit({ kind: "leave", ok: !lock.signal.aborted });
      await lock.release();
      emit({ kind: "released" });
    } catch (error) {
      const { name, message } = error as Error;
      emit({ kind: "failed", error: name, message });
    }
  }
}
