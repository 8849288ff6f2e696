/**
 * A stand-in for a turn 1.0 (Python) client, written from the wire-protocol
 * facts in shared/reference/turn-1.0-behaviour.md: the same commands in the
 * same order, not atomic, over a plain client. Used to prove interop.
 *
 * @module
 */

import { Redis } from "ioredis";
import { presenceKey, resourceKeys } from "../src/protocol.ts";

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

/** Draws a number the way turn 1.0 does and waits for the turn. */
export async function turn1Lock(
  port: number,
  resource: string,
  label: string,
  expireSeconds = 60,
): Promise<Turn1User> {
  const keys = resourceKeys(resource);
  const redis = new Redis(port, "127.0.0.1");
  const sub = new Redis(port, "127.0.0.1");
  await sub.subscribe(keys.internal);
  const say = (text: string) =>
    redis.publish(keys.external, `${resource}: ${text}`);
  const [, [, n]] = (await redis.multi()
    .msetnx(keys.dispenser, 0, keys.indicator, 1)
    .incr(keys.dispenser)
    .exec())! as [unknown, [unknown, number]];
  const mine = presenceKey(keys, n);
  await say(`${n} assigned to "${label}"`);
  await redis.set(mine, label, "EX", Math.max(expireSeconds, 2));
  const started = (async () => {
    if (Number(await redis.get(keys.indicator)) !== n) {
      await new Promise<void>((resolve) => {
        sub.on("message", (_channel: string, payload: string) => {
          if (payload === mine) resolve();
        });
      });
    }
    await say(`${n} started`);
  })();
  return {
    number: n,
    started,
    async complete() {
      await redis.del(mine);
      await say(`${n} completed by "${label}"`);
      await redis.set(keys.indicator, n + 1);
      await redis.publish(keys.internal, presenceKey(keys, n + 1));
      await say(`${n + 1} granted`);
    },
    async crash() {
      await say(`${n} crashed!`);
      await redis.del(mine);
    },
    close() {
      redis.disconnect();
      sub.disconnect();
    },
  };
}
