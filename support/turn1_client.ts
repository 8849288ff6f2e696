/**
 * A stand-in for a turn 1.0 (Python) client, written from the wire-protocol
 * facts in shared/reference/turn-1.0-behaviour.md: the same commands in the
 * same order, not atomic, over a plain client. Used by the tests to prove
 * interop and by the bench as the `turn1` peer.
 *
 * @module
 */

import { Redis, type RedisOptions } from "ioredis";
import { presenceKey, resourceKeys } from "../src/redis/keys.ts";

/** A turn 1.0 user that has drawn a number. */
export interface Turn1User {
  readonly number: number;
  /** Resolves when turn 1.0 would start the caller's block. */
  readonly started: Promise<void>;
  /** turn 1.0's normal exit: DEL, completed, SET n+1, announce n+1. */
  complete(): Promise<void>;
  /** turn 1.0's exception path: crashed!, DEL, no advance. */
  crash(): Promise<void>;
  close(): void;
}

/** How a turn 1.0 user is set up beyond its presence's expiry. */
export interface Turn1Options {
  /**
   * Seconds without an internal message before the waiter bumps (turn 1.0's
   * `patience`, default 60).
   */
  readonly patienceSeconds?: number;
  /**
   * The command connection, shared by the users of one turn 1.0 client and
   * left open by close(); without it, each user opens its own. The pub/sub
   * connection is always the user's own, as in turn 1.0.
   */
  readonly client?: Redis;
}

/** turn 1.0's default patience, in seconds. */
const PATIENCE_SECONDS = 60;

/**
 * Draws a number the way turn 1.0 does and waits for the turn. `server` is
 * the port of a local Redis, or a `redis://` URL.
 */
export async function turn1Lock(
  server: number | string,
  resource: string,
  label: string,
  expireSeconds = 60,
  options: Turn1Options = {},
): Promise<Turn1User> {
  const keys = resourceKeys(resource);
  const connect = (extra: RedisOptions = {}) =>
    typeof server === "number"
      ? new Redis(server, "127.0.0.1", { enableReadyCheck: false, ...extra })
      : new Redis(server, { enableReadyCheck: false, ...extra });
  const redis = options.client ?? connect();
  // ioredis's own resubscription after a reconnect is a command whose
  // promise nobody holds: when the connection closes before Redis answers
  // it (close() right after a reconnect), it rejects with "Connection is
  // closed." unhandled. Subscribing again here handles its failure.
  const sub = connect({ autoResubscribe: false });
  let resubscribe = false;
  sub.on("ready", () => {
    if (resubscribe) sub.subscribe(keys.internal).catch(() => {});
  });
  // turn 1.0 reads its pub/sub connection only once it waits, so what was
  // announced since it subscribed is read then, not lost: keep it until then.
  const heard = new Set<string>();
  let onMessage = (payload: string) => void heard.add(payload);
  sub.on("message", (_channel: string, payload: string) => onMessage(payload));
  await sub.subscribe(keys.internal);
  resubscribe = true;
  const say = (text: string) =>
    redis.publish(keys.external, `${resource}: ${text}`);
  const [, [, n]] = (await redis.multi()
    .msetnx(keys.dispenser, 0, keys.indicator, 1)
    .incr(keys.dispenser)
    .exec())! as [unknown, [unknown, number]];
  const mine = presenceKey(keys, n);
  const expire = Math.max(expireSeconds, 2);
  await say(`${n} assigned to "${label}"`);
  await redis.set(mine, label, "EX", expire);
  // turn 1.0's keep-alive thread, until the user leaves.
  const renewal = setInterval(
    () => redis.expire(mine, expire).catch(() => {}),
    (expire - 1) * 1000,
  );
  const patienceMs = (options.patienceSeconds ?? PATIENCE_SECONDS) * 1000;
  let patience: ReturnType<typeof setTimeout> | undefined;
  let waiting = true;
  const started = (async () => {
    const indicator = Number(await redis.get(keys.indicator));
    if (indicator !== n && !heard.has(mine)) {
      await new Promise<void>((resolve) => {
        const wait = () => {
          clearTimeout(patience);
          if (!waiting) return resolve();
          patience = setTimeout(async () => {
            await say(`${n} bumps`).catch(() => {});
            await bump(redis, resource).catch(() => {});
            wait();
          }, patienceMs);
        };
        onMessage = (payload) => {
          if (payload === mine) waiting = false;
          wait();
        };
        wait();
      });
    }
    waiting = false;
    await say(`${n} started`);
  })();
  const leave = () => {
    waiting = false;
    clearInterval(renewal);
    clearTimeout(patience);
  };
  return {
    number: n,
    started,
    async complete() {
      leave();
      await redis.del(mine);
      await say(`${n} completed by "${label}"`);
      await redis.set(keys.indicator, n + 1);
      await redis.publish(keys.internal, presenceKey(keys, n + 1));
      await say(`${n + 1} granted`);
    },
    async crash() {
      leave();
      await say(`${n} crashed!`);
      await redis.del(mine);
    },
    close() {
      leave();
      if (redis !== options.client) redis.disconnect();
      sub.disconnect();
    },
  };
}

/**
 * turn 1.0's bump, as separate commands: the indicator moves to the first
 * number from it whose presence exists (past the dispenser if none), and
 * that number is announced whether or not it moved.
 */
async function bump(redis: Redis, resource: string): Promise<void> {
  const keys = resourceKeys(resource);
  const indicator = Number(await redis.get(keys.indicator));
  const dispenser = Number(await redis.get(keys.dispenser));
  let m = indicator;
  while (m <= dispenser && !await redis.exists(presenceKey(keys, m))) m++;
  if (m !== indicator) await redis.set(keys.indicator, m);
  await redis.publish(keys.internal, presenceKey(keys, m));
  await redis.publish(keys.external, `${resource}: ${m} granted`);
}
