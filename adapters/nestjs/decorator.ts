/**
 * The `@Turn` method decorator: each call waits for its turn, runs in it,
 * and hands it on.
 *
 * @module
 */

import { Inject, Logger } from "@nestjs/common";
import { type LockSet, TimeoutError } from "../../mod.ts";
import { whileHeld } from "../../src/lock_set.ts";
import { contexts } from "./context.ts";
import { TurnDecoratorError } from "./errors.ts";
import { TurnRuntime } from "./module.ts";
import {
  makePlan,
  type TurnOptions,
  type TurnPlan,
  type TurnResource,
} from "./plan.ts";

const logger = new Logger("Turn");

/**
 * Makes the method wait for its turn on `resource` before it runs, and hand
 * the turn on when it returns or throws. `resource` is a name or a function
 * of the method's arguments returning one name or several (taken in sorted
 * order, so two calls never wait on each other crosswise). Works on provider
 * and controller methods, also next to `@Get()`, `@Cron()`, `@OnEvent()` or
 * on `WorkerHost.process`: the method's metadata, `name` and `length` are
 * kept. The method then always returns a promise.
 *
 * @example A resource from the arguments, with a label and a timeout
 * ```ts
 * import { Injectable } from "@nestjs/common";
 * import { Turn } from "@turn/turn/nestjs";
 *
 * interface Invoice {
 *   id: string;
 *   accounts: string[];
 * }
 *
 * @Injectable()
 * class Payments {
 *   @Turn((invoice: Invoice) => invoice.accounts.map((a) => `account:${a}`), {
 *     label: (invoice: Invoice) => `pay ${invoice.id}`,
 *     timeout: 30_000,
 *   })
 *   async pay(invoice: Invoice): Promise<void> {
 *     console.log("paying", invoice.id);
 *   }
 * }
 * ```
 */
export function Turn<
  A extends unknown[] = unknown[],
  L extends unknown[] = A,
>(
  resource: TurnResource<A>,
  options: TurnOptions<L> = {},
): MethodDecorator {
  return (target, key, descriptor) => {
    const method = `${ownerName(target)}.${String(key)}`;
    const plan = makePlan(method, resource, options);
    const original = descriptor.value as Call["original"] | undefined;
    if (typeof original !== "function") {
      throw new TurnDecoratorError(
        method,
        `@Turn on ${method}: only methods can be decorated: got ${typeof original}`,
      );
    }
    const slot = Symbol(`TurnModule (needed by @Turn on ${method})`);
    // Nest injects the runtime into each instance; a missing TurnModule then
    // fails at startup with this slot's description in the message.
    if (typeof target !== "function") Inject(TurnRuntime)(target, slot);
    const wrapper = async function (this: unknown, ...args: unknown[]) {
      const runtime = runtimeOf(this, slot, method);
      return await runInTurn(runtime, plan, { self: this, args, original });
    };
    keepIdentity(wrapper, original);
    descriptor.value = wrapper as typeof descriptor.value;
  };
}

function ownerName(target: object): string {
  return typeof target === "function" ? target.name : target.constructor.name;
}

function runtimeOf(self: unknown, slot: symbol, method: string): TurnRuntime {
  const runtime = (self as Record<symbol, unknown> | undefined)?.[slot];
  if (runtime instanceof TurnRuntime) return runtime;
  throw new TurnDecoratorError(
    method,
    `${method} is decorated with @Turn but no TurnModule reached it: import TurnModule.forRoot() (or forRootAsync()) in the module that provides it, or register TurnModule with isGlobal: true, and let Nest create the instance`,
  );
}

/** One call of a decorated method. */
interface Call {
  readonly self: unknown;
  readonly args: unknown[];
  readonly original: (...args: unknown[]) => unknown;
}

/** Takes every resource in order, runs the method in the turn, releases in reverse. */
function runInTurn(
  runtime: TurnRuntime,
  plan: TurnPlan,
  call: Call,
): Promise<unknown> {
  return runtime.track((async () => {
    const set = await takeTurns(runtime, plan, call);
    if (!set) return undefined;
    const context = { locks: set.locks, signal: set.signal };
    return await whileHeld(
      set,
      () =>
        contexts.run(context, () => call.original.apply(call.self, call.args)),
    );
  })());
}

/** The call's turns, or `null` when the wait timed out and the plan skips. */
async function takeTurns(
  runtime: TurnRuntime,
  plan: TurnPlan,
  call: Call,
): Promise<LockSet | null> {
  try {
    return await runtime.locker.lockAll(plan.resources(call.self, call.args), {
      label: plan.label(call.self, call.args),
      expire: plan.expire,
      patience: plan.patience,
      capacity: plan.capacity,
      shared: plan.shared,
      timeout: plan.timeout,
      signal: runtime.signal,
    });
  } catch (error) {
    if (!plan.skip || !(error instanceof TimeoutError)) throw error;
    logger.debug(`${plan.method} skipped: ${error.message}`);
    return null;
  }
}

/** Makes the wrapper look like the original to Nest and to BullMQ. */
function keepIdentity(wrapper: object, original: object): void {
  for (const property of ["name", "length"] as const) {
    Object.defineProperty(wrapper, property, {
      value: (original as Record<string, unknown>)[property],
      configurable: true,
    });
  }
  for (const key of Reflect.getOwnMetadataKeys(original)) {
    Reflect.defineMetadata(
      key,
      Reflect.getOwnMetadata(key, original),
      wrapper,
    );
  }
}
