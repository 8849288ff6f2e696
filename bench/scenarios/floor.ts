/**
 * A second yardstick, for handoffs between processes: one process
 * PUBLISHes, another is woken by the message and makes one round trip. A
 * lock woken by pub/sub that confirms its grant with one round trip cannot
 * hand over faster on this machine at this moment; on a busy machine this
 * is many times `limit`'s round trip, because two processes must be
 * scheduled.
 *
 * Measured twice: back to back, and with both processes idle for scenario
 * 2's hold before each message (the `idle floor`). A holder whose critical
 * section waits on a timer or on I/O releases after such a pause, and on a
 * machine whose cores sleep when idle the first message after it costs more
 * than one sent back to back; the idle floor is the least a pub/sub handoff
 * after such a hold can take here.
 *
 * @module
 */

import type { Redis } from "ioredis";
import { now, sleep } from "../clock.ts";
import type { EchoResult } from "../jobs.ts";
import type { WorkerProcess } from "../pool.ts";
import { quantile } from "../stats.ts";

/** The cross-process handoff floor, measured in this run. */
export interface Floor extends Record<string, number> {
  /** PUBLISH sent to message handled in the other process, median, ms. */
  readonly wakeP50Ms: number;
  /** ... and the other process's round trip done, median, ms. */
  readonly handoffP50Ms: number;
  readonly handoffP99Ms: number;
}

/**
 * Sends `count` messages to `worker`, one at a time, each after a pause of
 * `pauseMs` (0: back to back).
 */
export async function measureFloor(
  redis: Redis,
  worker: WorkerProcess,
  url: string,
  count: number,
  pauseMs = 0,
): Promise<Floor> {
  const channel = `bench:floor:${crypto.randomUUID()}`;
  const reply = `${channel}:reply`;
  const listener = redis.duplicate();
  let answered = Promise.withResolvers<void>();
  listener.on("message", () => answered.resolve());
  await listener.subscribe(reply);
  const echo = worker.send({ kind: "echo", url, channel, reply, count });
  await echo("ready");
  const sent: number[] = [];
  for (let i = 0; i < count; i++) {
    answered = Promise.withResolvers();
    if (pauseMs > 0) await sleep(pauseMs);
    sent.push(now());
    await redis.publish(channel, "");
    await answered.promise;
  }
  const { times } = await echo("done") as EchoResult;
  listener.disconnect();
  const wake = times.map(([arrived], i) => arrived - sent[i]);
  const handoff = times.map(([, answeredAt], i) => answeredAt - sent[i]);
  return {
    wakeP50Ms: quantile(wake, 0.5),
    handoffP50Ms: quantile(handoff, 0.5),
    handoffP99Ms: quantile(handoff, 0.99),
  };
}
