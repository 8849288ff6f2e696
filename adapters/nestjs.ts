/**
 * NestJS integration: {@linkcode TurnModule} provides a `Locker`,
 * and the {@linkcode Turn} method decorator makes a method wait for its turn
 * on a resource, across every process that uses the same Redis.
 *
 * `@nestjs/common` is a peer dependency: this module imports it by its bare
 * name, so an app's own copy is used (see docs/NESTJS.md).
 *
 * @example A ledger that posts one entry at a time
 * ```ts
 * import { Injectable, Module } from "@nestjs/common";
 * import { Turn, TurnModule } from "@turn/turn/nestjs";
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

export { type Lock, type ReleaseOutcome, TurnError } from "../mod.ts";
export { currentTurn, type TurnContext } from "./nestjs/context.ts";
export { Turn } from "./nestjs/decorator.ts";
export { TurnDecoratorError, TurnShutdownError } from "./nestjs/errors.ts";
export {
  TurnModule,
  type TurnModuleExtras,
  type TurnModuleOptions,
} from "./nestjs/module.ts";
export type { TurnOptions, TurnResource } from "./nestjs/plan.ts";
