/**
 * `TurnModule`: provides the Locker, and the runtime `@Turn` methods share
 * (the shutdown signal and the calls under way).
 *
 * @module
 */

import {
  type BeforeApplicationShutdown,
  type ConfigurableModuleAsyncOptions,
  ConfigurableModuleBuilder,
  type DynamicModule,
  type OnApplicationShutdown,
  type Provider,
} from "@nestjs/common";
import { Locker, type LockerOptions } from "../../mod.ts";
import { TurnShutdownError } from "./errors.ts";

/**
 * Options of {@linkcode TurnModule.forRoot}: how the Locker reaches Redis.
 *
 * @example
 * ```ts
 * import type { TurnModuleOptions } from "@turn/turn/nestjs";
 * const options: TurnModuleOptions = { url: "redis://localhost:6379/0" };
 * ```
 */
export type TurnModuleOptions = LockerOptions;

/**
 * Options of the module itself, next to the Locker's options.
 *
 * @example
 * ```ts
 * import type { TurnModuleExtras } from "@turn/turn/nestjs";
 * const extras: TurnModuleExtras = { isGlobal: true };
 * ```
 */
export interface TurnModuleExtras {
  /** Register the module globally, so every module can use `@Turn`. */
  readonly isGlobal?: boolean;
}

/**
 * The Locker plus what outlives single calls: the shutdown signal and the
 * calls under way.
 */
export class TurnRuntime
  implements BeforeApplicationShutdown, OnApplicationShutdown {
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
 * Provides a {@linkcode Locker} (injectable by its class) and what `@Turn`
 * needs. On shutdown, calls still waiting for a turn are aborted
 * (`beforeApplicationShutdown`); calls holding one are awaited, then the
 * connections close (`onApplicationShutdown`).
 *
 * @example Options from ConfigService
 * ```ts
 * import { Module } from "@nestjs/common";
 * import { ConfigModule, ConfigService } from "@nestjs/config";
 * import { TurnModule } from "@turn/turn/nestjs";
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
