/**
 * NestJS integration: {@linkcode TurnModule} provides a {@linkcode Locker},
 * and the {@linkcode Turn} method decorator makes a method wait for its turn
 * on a resource, across every process that uses the same Redis.
 *
 * `@nestjs/common` is a peer dependency: this module imports it by its bare
 * name, so an app's own copy is used (see docs/NESTJS.md).
 *
 * @example A ledger that posts one entry at a time
 * ```ts
 * import { Injectable, Module } from "@nestjs/common";
 * import { Turn, TurnModule } from "./nestjs.ts";
 *
 * @Injectable()
 * class Ledger {
 *   @Turn("ledger")
 *   async post(entry: string): Promise<void> {
 *     console.log("posting", entry);
 *   }
 * }
 *
 * @Module({
 *   imports: [TurnModule.forRoot({ url: "redis://localhost:6379/0", isGlobal: true })],
 *   providers: [Ledger],
 * })
 * class AppModule {}
 * ```
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import {
  type BeforeApplicationShutdown,
  type ConfigurableModuleAsyncOptions,
  ConfigurableModuleBuilder,
  type DynamicModule,
  Inject,
  Logger,
  type OnApplicationShutdown,
  type Provider,
} from "@nestjs/common";
import {
  type Lock,
  Locker,
  type LockerOptions,
  type LockSet,
  type ReleaseOutcome,
  TimeoutError,
  TurnError,
} from "../mod.ts";
import { MIN_EXPIRE } from "../src/locker.ts";
import { checkDuration, checkLabel, checkResource } from "../src/validate.ts";

export { TurnError };
export type { Lock, ReleaseOutcome };

/** Options of {@linkcode TurnModule.forRoot}: how the Locker reaches Redis. */
export type TurnModuleOptions = LockerOptions;

/** Options of the module itself, next to the Locker's options. */
export interface TurnModuleExtras {
  /** Register the module globally, so every module can use `@Turn`. */
  readonly isGlobal?: boolean;
}

/** Where the turn is taken: a name, or a function of the method's arguments. */
export type TurnResource<A extends unknown[]> =
  | string
  | ((...args: A) => string | readonly string[]);

/** Options of one {@linkcode Turn} decorator. Durations are milliseconds. */
export interface TurnOptions<A extends unknown[] = unknown[]> {
  /** Shown by `status`; a string or a function of the arguments. Default `"Class.method"`. */
  readonly label?: string | ((...args: A) => string);
  /** Give up waiting after this long (over all resources of one call). */
  readonly timeout?: number;
  /** Presence TTL, kept alive while waiting and holding. */
  readonly expire?: number;
  /** Bump the queue after this long without news. */
  readonly patience?: number;
  /**
   * What a call does when `timeout` runs out: `"throw"` (default) rejects
   * with a {@linkcode TimeoutError}; `"skip"` resolves to `undefined`
   * without running the method.
   */
  readonly onTimeout?: "throw" | "skip";
}

/** What a method decorated with {@linkcode Turn} can see of its own turn. */
export interface TurnContext {
  /** The held locks, one per resource, in the (sorted) order taken. */
  readonly locks: readonly Lock[];
  /** Aborts, with a LeaseLostError as reason, when any of the leases is lost. */
  readonly signal: AbortSignal;
}

/**
 * A `@Turn` decorator is misused: bad options, a resource function that
 * throws or returns something else than names, no `TurnModule`, or
 * {@linkcode currentTurn} called outside a turn.
 *
 * @example Telling setup mistakes apart
 * ```ts
 * import { TurnDecoratorError } from "./nestjs.ts";
 * const error = new TurnDecoratorError("Ledger.post", "something is off");
 * console.log(error.method, error.message);
 * ```
 */
export class TurnDecoratorError extends TurnError {
  /** The decorated method, as `Class.method`. */
  readonly method: string;

  /** Creates the error for `method` (`Class.method`). */
  constructor(method: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.method = method;
  }
}

/**
 * The application is shutting down: a call that was still waiting for its
 * turn gave up its ticket and rejects with this.
 *
 * @example Recognising a wait cut short by shutdown
 * ```ts
 * import { TurnShutdownError } from "./nestjs.ts";
 * const error: unknown = new TurnShutdownError();
 * console.log(error instanceof TurnShutdownError);
 * ```
 */
export class TurnShutdownError extends TurnError {
  /** Creates the error. */
  constructor() {
    super("the application is shutting down: stopped waiting for the turn");
  }
}

const contexts = new AsyncLocalStorage<TurnContext>();
const logger = new Logger("Turn");

/**
 * The turn held by the `@Turn` method that is running (or that the calling
 * code was started from), without changing the method's signature. Each call
 * sees its own turn, however many run at once.
 *
 * @example Reading the ticket number and the lease signal
 * ```ts
 * import { Injectable } from "@nestjs/common";
 * import { currentTurn, Turn } from "./nestjs.ts";
 *
 * @Injectable()
 * class Printer {
 *   @Turn("printer")
 *   async print(text: string): Promise<number> {
 *     const { locks, signal } = currentTurn();
 *     signal.throwIfAborted();
 *     console.log(text);
 *     return locks[0].number;
 *   }
 * }
 * ```
 */
export function currentTurn(): TurnContext {
  const context = contexts.getStore();
  if (context === undefined) {
    throw new TurnDecoratorError(
      "currentTurn",
      "currentTurn() must be called while a method decorated with @Turn runs: no turn is held here",
    );
  }
  return context;
}

/**
 * The Locker plus what outlives single calls: the shutdown signal and the
 * calls under way.
 */
class TurnRuntime implements BeforeApplicationShutdown, OnApplicationShutdown {
  readonly locker: Locker;
  readonly #shutdown = new AbortController();
  readonly #calls = new Set<Promise<unknown>>();

  constructor(locker: Locker) {
    this.locker = locker;
  }

  get signal(): AbortSignal {
    return this.#shutdown.signal;
  }

  /** Keeps `call` in view until it settles, so shutdown can wait for it. */
  track<T>(call: Promise<T>): Promise<T> {
    this.#calls.add(call);
    const forget = () => this.#calls.delete(call);
    call.then(forget, forget);
    return call;
  }

  beforeApplicationShutdown(): void {
    this.#shutdown.abort(new TurnShutdownError());
  }

  async onApplicationShutdown(): Promise<void> {
    // Waiting calls were aborted above; methods that hold their turn finish
    // (and hand it on) before the connections go, as BullMQ's worker.close()
    // waits for active jobs: closing first would let the next user in while
    // they still run.
    await Promise.allSettled(this.#calls);
    await this.locker.close();
  }
}

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } =
  new ConfigurableModuleBuilder<TurnModuleOptions>({ moduleName: "Turn" })
    .setClassMethodName("forRoot")
    .setExtras<TurnModuleExtras>(
      { isGlobal: false },
      (definition, extras) => ({ ...definition, global: extras.isGlobal }),
    )
    .build();

const PROVIDERS: Provider[] = [
  {
    provide: Locker,
    useFactory: (options: TurnModuleOptions) => new Locker(options),
    inject: [MODULE_OPTIONS_TOKEN],
  },
  {
    provide: TurnRuntime,
    useFactory: (locker: Locker) => new TurnRuntime(locker),
    inject: [Locker],
  },
];

/**
 * Provides a {@linkcode Locker} (injectable by its class) and what
 * {@linkcode Turn} needs. On shutdown, calls still waiting for a turn are
 * aborted (`beforeApplicationShutdown`); calls holding one are awaited, then
 * the connections close (`onApplicationShutdown`).
 *
 * @example Options from ConfigService
 * ```ts
 * import { Module } from "@nestjs/common";
 * import { ConfigModule, ConfigService } from "@nestjs/config";
 * import { TurnModule } from "./nestjs.ts";
 *
 * @Module({
 *   imports: [
 *     ConfigModule.forRoot(),
 *     TurnModule.forRootAsync({
 *       isGlobal: true,
 *       imports: [ConfigModule],
 *       inject: [ConfigService],
 *       useFactory: (config: ConfigService) => ({
 *         url: config.getOrThrow<string>("REDIS_URL"),
 *       }),
 *     }),
 *   ],
 * })
 * class AppModule {}
 * ```
 */
export class TurnModule {
  /** The module with fixed Locker options. */
  static forRoot(options: TurnModuleOptions & TurnModuleExtras): DynamicModule {
    return complete(ConfigurableModuleClass.forRoot(options));
  }

  /** The module with Locker options made by a factory (e.g. from ConfigService). */
  static forRootAsync(
    options:
      & ConfigurableModuleAsyncOptions<TurnModuleOptions>
      & TurnModuleExtras,
  ): DynamicModule {
    return complete(ConfigurableModuleClass.forRootAsync(options));
  }
}

function complete(definition: DynamicModule): DynamicModule {
  return {
    ...definition,
    module: TurnModule,
    providers: [...(definition.providers ?? []), ...PROVIDERS],
    exports: [Locker, TurnRuntime],
  };
}

/** What one decorator resolved from its arguments, checked once. */
interface TurnPlan {
  readonly method: string;
  readonly resources: (self: unknown, args: unknown[]) => string[];
  readonly label: (self: unknown, args: unknown[]) => string;
  readonly timeout?: number;
  readonly expire?: number;
  readonly patience?: number;
  readonly skip: boolean;
}

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
 * import { Turn } from "./nestjs.ts";
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

function makePlan<A extends unknown[], L extends unknown[]>(
  method: string,
  resource: TurnResource<A>,
  options: TurnOptions<L>,
): TurnPlan {
  try {
    return {
      method,
      resources: resourcesOf(method, resource),
      label: labelOf(method, options.label),
      timeout: optionalDuration("timeout", options.timeout),
      expire: optionalDuration("expire", options.expire, MIN_EXPIRE),
      patience: optionalDuration("patience", options.patience),
      skip: onTimeoutOf(options.onTimeout) === "skip",
    };
  } catch (error) {
    if (error instanceof TurnDecoratorError) throw error;
    throw new TurnDecoratorError(
      method,
      `@Turn on ${method}: ${message(error)}`,
      {
        cause: error,
      },
    );
  }
}

function resourcesOf<A extends unknown[]>(
  method: string,
  resource: TurnResource<A>,
): TurnPlan["resources"] {
  if (typeof resource === "string") {
    const names = [checkResource(resource)];
    return () => names;
  }
  if (typeof resource !== "function") {
    throw new TypeError(
      `the resource must be a string or a function of the arguments: got ${typeof resource}`,
    );
  }
  return (self, args) => {
    const value = callUserFunction(method, "resource", resource, self, args);
    return resourceNames(method, value);
  };
}

function resourceNames(method: string, value: unknown): string[] {
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new TurnDecoratorError(
      method,
      `the @Turn resource function of ${method} must return a resource name or a non-empty array of them: got ${
        show(value)
      }`,
    );
  }
  try {
    return [...new Set(list.map(checkResource))].sort();
  } catch (error) {
    throw badReturn(method, "resource", error);
  }
}

function labelOf<A extends unknown[]>(
  method: string,
  label: TurnOptions<A>["label"],
): TurnPlan["label"] {
  if (label === undefined) return () => method;
  if (typeof label === "string") {
    checkLabel(label);
    return () => label;
  }
  if (typeof label !== "function") {
    throw new TypeError(
      `label must be a string or a function of the arguments: got ${typeof label}`,
    );
  }
  return (self, args) => {
    const value = callUserFunction(method, "label", label, self, args);
    try {
      return checkLabel(value);
    } catch (error) {
      throw badReturn(method, "label", error);
    }
  };
}

function badReturn(
  method: string,
  what: "resource" | "label",
  error: unknown,
): TurnDecoratorError {
  return new TurnDecoratorError(
    method,
    `the @Turn ${what} function of ${method} returned a bad ${what}: ${
      message(error)
    }`,
    { cause: error },
  );
}

function callUserFunction(
  method: string,
  what: "resource" | "label",
  fn: (...args: never[]) => unknown,
  self: unknown,
  args: unknown[],
): unknown {
  try {
    return fn.apply(self, args as never[]);
  } catch (error) {
    throw new TurnDecoratorError(
      method,
      `the @Turn ${what} function of ${method} threw: ${message(error)}`,
      { cause: error },
    );
  }
}

function optionalDuration(
  what: string,
  value: unknown,
  min?: number,
): number | undefined {
  return value === undefined ? undefined : checkDuration(what, value, min);
}

function onTimeoutOf(value: unknown): "throw" | "skip" {
  if (value === undefined || value === "throw" || value === "skip") {
    return value ?? "throw";
  }
  throw new RangeError(
    `onTimeout must be "throw" or "skip": got ${show(value)}`,
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
    let result: unknown;
    try {
      const context = { locks: set.locks, signal: set.signal };
      result = await contexts.run(
        context,
        async () => await call.original.apply(call.self, call.args),
      );
    } catch (error) {
      await set.release("crashed");
      throw error;
    }
    await set.release();
    return result;
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

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(show).join(", ")}]`;
  return typeof value === "object" && value !== null
    ? Object.prototype.toString.call(value)
    : String(value);
}
