/**
 * The locks under comparison, behind one small interface: turn, and the
 * locks people use instead. Each peer is used the way its README says. The
 * peers are imported only from bench/, which is not published, so they never
 * become dependencies of the module.
 *
 * @module
 */

import { Redis } from "ioredis";
import Redlock from "redlock";
import {
  Mutex as RedisMutex,
  Semaphore as RedisSemaphore,
} from "redis-semaphore";
import { Mutex as MemoryMutex } from "async-mutex";
import lockfile from "proper-lockfile";
import { Locker } from "../mod.ts";
import { turn1Lock } from "../support/turn1_client.ts";
import { newDrawToken, newWakeId, resourceKeys } from "../src/redis/keys.ts";
import { draw, release, run, type Target } from "../src/redis/steps.ts";
import { openProtocolFloor } from "./protocol_floor.ts";

/** The name of a lock under comparison. */
export type PeerName =
  | "turn"
  | "turn1"
  | "redlock"
  | "redlock-10ms"
  | "redis-semaphore"
  | "async-mutex"
  | "turn-scripts"
  | "protocol-floor"
  | "turn-file"
  | "proper-lockfile";

/** Peers that work across processes through Redis. */
export const REDIS_PEERS: readonly PeerName[] = [
  "turn",
  "redlock",
  "redlock-10ms",
  "redis-semaphore",
];

/**
 * turn 1.0's protocol, the one turn replaces, in the scenarios that hand
 * over between processes (2, 3 and 6): the stand-in that issues turn 1.0's
 * exact commands, not atomic, with a fresh pub/sub connection per lock.
 */
export const TURN1_PEERS: readonly PeerName[] = ["turn1"];

/**
 * Peers that work across the processes of one host through files; opened
 * with a `file:` URL naming a directory. turn-file is turn's file backend.
 */
export const FILE_PEERS: readonly PeerName[] = ["turn-file", "proper-lockfile"];

/**
 * Scenario 1's yardsticks for turn's protocol apart from the Locker: turn's
 * draw and release scripts sent with ioredis, one EVALSHA each, with no
 * Locker around them; and the least any atomic lock of turn 1.0's protocol
 * must run (protocol_floor.ts).
 */
export const SCRIPT_PEERS: readonly PeerName[] = [
  "turn-scripts",
  "protocol-floor",
];

/** A held lock. */
export interface Held {
  release(): Promise<void>;
  /** turn only: the number drawn, the server's order of requests. */
  readonly ticket?: number;
}

/** One client of a lock, able to take it on any resource. */
export interface Peer extends AsyncDisposable {
  /** Waits for the lock; rejects when the peer gives up (a failed acquisition). */
  acquire(resource: string): Promise<Held>;
}

/** How a peer is set up. */
export interface PeerOptions {
  readonly url: string;
  /** Lease: turn's `expire`, redlock's duration, redis-semaphore's `lockTimeout`. */
  readonly expire: number;
  /**
   * Places per resource (scenario 7): turn's `capacity`, redis-semaphore's
   * `Semaphore` limit. Unset: a mutex.
   */
  readonly capacity?: number;
}

/** Opens a connected client of `name`. */
export async function openPeer(
  name: PeerName,
  options: PeerOptions,
): Promise<Peer> {
  switch (name) {
    case "turn":
    case "turn-file":
      return await openTurn(options);
    case "turn1":
      return await openTurn1(options);
    case "redlock":
      return await openRedlock(options, {});
    case "redlock-10ms":
      return await openRedlock(options, { retryDelay: 10 });
    case "redis-semaphore":
      return await openSemaphore(options);
    case "async-mutex":
      return openMemory();
    case "turn-scripts":
      return await openScripts(options);
    case "protocol-floor":
      return await openProtocolFloor(options);
    case "proper-lockfile":
      return openLockfile(options);
  }
}

async function openTurn(
  { url, expire, capacity }: PeerOptions,
): Promise<Peer> {
  const locker = new Locker({ url });
  await locker.status(["bench:warmup"]); // connect before the clock starts
  return {
    async acquire(resource) {
      const lock = await locker.lock(resource, { expire, capacity });
      return { ticket: lock.number, release: () => lock.release() };
    },
    [Symbol.asyncDispose]: () => locker.close(),
  };
}

/**
 * turn's two scripts and nothing else: the draw's arguments and the release's
 * as the Locker builds them (steps.ts), a fresh draw token per lock. Only for
 * a lock nobody else wants: it cannot wait.
 */
async function openScripts({ url, expire }: PeerOptions): Promise<Peer> {
  const redis = await connected(url);
  const wakeId = newWakeId();
  const label = "bench";
  return {
    async acquire(resource) {
      const target: Target = {
        keys: resourceKeys(resource),
        variant: "single",
      };
      const token = newDrawToken(wakeId);
      const drawn = await run(
        redis,
        draw(target, { label, expire, token, skip: 0 }),
      );
      if (!drawn.granted) throw new Error(`${resource} is busy: cannot wait`);
      const place = { n: drawn.n, label, token };
      return {
        ticket: drawn.n,
        release: async () =>
          void await run(redis, release(target, place, "completed")),
      };
    },
    [Symbol.asyncDispose]: async () => void await redis.quit(),
  };
}

/**
 * One turn 1.0 client per process: a shared command connection, and each
 * lock its own pub/sub connection, as turn 1.0 does. Its patience is the
 * lease, so that a dead holder is bumped as soon as its presence can have
 * expired (turn 1.0's default patience is 60 s).
 */
async function openTurn1({ url, expire }: PeerOptions): Promise<Peer> {
  const client = await connected(url);
  const seconds = Math.ceil(expire / 1000);
  return {
    async acquire(resource) {
      const user = await turn1Lock(url, resource, "turn1", seconds, {
        client,
        patienceSeconds: seconds,
      });
      try {
        await user.started;
      } catch (error) {
        user.close();
        throw error;
      }
      return {
        ticket: user.number,
        release: async () => {
          await user.complete();
          user.close();
        },
      };
    },
    [Symbol.asyncDispose]: async () => void await client.quit(),
  };
}

async function connected(url: string): Promise<Redis> {
  const redis = new Redis(url);
  await redis.ping();
  return redis;
}

async function openRedlock(
  { url, expire }: PeerOptions,
  settings: { retryDelay?: number },
): Promise<Peer> {
  const redis = await connected(url);
  const redlock = new Redlock([redis], settings);
  // Redlock emits every refused attempt as an error event (see its README).
  redlock.on("error", () => {});
  return {
    async acquire(resource) {
      const lock = await redlock.acquire([resource], expire);
      return { release: async () => void await lock.release() };
    },
    [Symbol.asyncDispose]: async () => void await redis.quit(),
  };
}

async function openSemaphore(
  { url, expire, capacity }: PeerOptions,
): Promise<Peer> {
  const redis = await connected(url);
  return {
    async acquire(resource) {
      const options = { lockTimeout: expire };
      const lock = capacity === undefined
        ? new RedisMutex(redis, resource, options)
        : new RedisSemaphore(redis, resource, capacity, options);
      await lock.acquire();
      return { release: () => lock.release() };
    },
    [Symbol.asyncDispose]: async () => void await redis.quit(),
  };
}

// proper-lockfile fails at once on a held lock unless told to retry (its
// README's `retries`); it polls, backing off from 1 ms to 50 ms.
const LOCKFILE_RETRIES = { retries: 100_000, minTimeout: 1, maxTimeout: 50 };

function openLockfile({ url }: PeerOptions): Peer {
  const dir = new URL(url).pathname;
  return {
    async acquire(resource) {
      const release = await lockfile.lock(
        `${dir}/${encodeURIComponent(resource)}`,
        {
          realpath: false, // the file locked need not exist
          retries: LOCKFILE_RETRIES,
        },
      );
      return { release };
    },
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

function openMemory(): Peer {
  const mutexes = new Map<string, MemoryMutex>();
  return {
    async acquire(resource) {
      let mutex = mutexes.get(resource);
      if (!mutex) mutexes.set(resource, mutex = new MemoryMutex());
      const release = await mutex.acquire();
      return { release: () => Promise.resolve(release()) };
    },
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}
