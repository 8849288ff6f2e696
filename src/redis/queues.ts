/**
 * Reading and resetting queues: the resources that have one (a SCAN of
 * every master), their status and reset (plain and shared), and the
 * external channels a Follow listens to.
 *
 * @module
 */

import type { Cluster, Redis } from "ioredis";
import type { Client } from "./client.ts";
import {
  DISPENSER_PATTERN,
  EXTERNAL_PATTERN,
  resourceKeys,
  resourceOf,
} from "./keys.ts";
import type { Subscriber } from "./subscriber.ts";
import { LINE_PATTERN } from "./shared_keys.ts";
import type { Session } from "./session.ts";
import { reset, runGroups, status, type Target } from "./steps.ts";
import { sharedReset, sharedStatus } from "./shared_steps.ts";
import type { ResetResult, ResourceStatus } from "../types.ts";

/**
 * The queues at `targets` that exist, in the order given: plain and shared
 * status of every resource in one round trip.
 */
export async function readQueues(
  session: Session,
  targets: readonly Target[],
): Promise<ResourceStatus[]> {
  const queues = targets.flatMap((target) => [
    status(target),
    sharedStatus(target),
  ]);
  const results = await runGroups(session.client, { queues });
  return results.queues.flatMap((result) => {
    if (!result.ok) throw result.error;
    return result.value === undefined ? [] : [result.value];
  });
}

/** Resets the shared queue first, so that `forget` sees both gone. */
export async function resetQueue(
  session: Session,
  target: Target,
  forget: boolean,
): Promise<ResetResult> {
  const shared = await session.run(sharedReset(target, forget));
  if (shared.outcome !== "missing") return shared;
  return await session.run(reset(target, forget));
}

/**
 * Names of every resource with a queue in the database, sorted. On a
 * cluster, every master is scanned.
 */
export async function listResources(
  client: Client,
  cluster: boolean,
  hashTag: boolean,
): Promise<string[]> {
  const found = new Set<string>();
  const servers = cluster
    ? (client as Cluster).nodes("master")
    : [client as Redis];
  for (const server of servers) {
    for (const name of await scan(server, DISPENSER_PATTERN)) {
      const resource = resourceOf(name, "dispenser", hashTag);
      if (resource !== undefined) found.add(resource);
    }
    for (const name of await scan(server, LINE_PATTERN)) {
      const resource = resourceOf(name, "line", hashTag);
      if (resource !== undefined) found.add(resource);
    }
  }
  return [...found].sort();
}

/** Every key matching `pattern` on one server. */
async function scan(server: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, names] = await server.scan(
      cursor,
      "MATCH",
      pattern,
      "COUNT",
      1000,
    );
    cursor = next;
    found.push(...names);
  } while (cursor !== "0");
  return found;
}

/** A listening Follow source: ready once subscribed; `stop` unsubscribes. */
export interface Listening {
  readonly ready: Promise<void>;
  stop(): void;
}

/**
 * Listens to the external channels of `resources` (every resource when
 * `undefined`) and emits each message with the resource it is about.
 */
export function listenExternal(
  subscriber: Subscriber,
  resources: readonly string[] | undefined,
  hashTag: boolean,
  emit: (resource: string, message: string) => void,
): Listening {
  const listener = (channel: string, payload: string) => {
    const resource = resourceOf(channel, "external", hashTag);
    if (resource !== undefined) emit(resource, payload);
  };
  if (resources === undefined) {
    return {
      ready: subscriber.listenPattern(EXTERNAL_PATTERN, listener),
      stop: () => subscriber.unlistenPattern(EXTERNAL_PATTERN, listener),
    };
  }
  const channels = [
    ...new Set(resources.map((r) => resourceKeys(r, hashTag).external)),
  ];
  return {
    ready: Promise.all(channels.map((c) => subscriber.listen(c, listener)))
      .then(() => {}),
    stop: () => channels.forEach((c) => subscriber.unlisten(c, listener)),
  };
}
