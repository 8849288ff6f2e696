/**
 * `@Turn` calls reading their fencing token with `currentTurn()`: several
 * calls at once, each recording (inside its turn) its own token, the token
 * `locker.status()` reports then, and the same token read again after an
 * await, so that a mix-up between concurrent calls would show.
 *
 * @module
 */

import { Injectable, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { currentTurn, Turn, TurnModule } from "../../../adapters/nestjs.ts";
// A value import: the constructor's parameter type is emitted as metadata
// for Nest's injector, which a type-only import would erase.
// deno-lint-ignore verbatim-module-syntax
import { Locker } from "../../../mod.ts";
import { client, LOGGER, redisUrl, say, witnessed } from "./fixture.ts";

const CALLS = 6;
const redis = client();

@Injectable()
class Store {
  constructor(readonly locker: Locker) {}

  @Turn("store")
  async write(): Promise<void> {
    await witnessed(redis, "store", async () => {
      const own = currentTurn().locks[0].fence;
      const [status] = await this.locker.status(["store"]);
      const again = currentTurn().locks[0].fence;
      await redis.rpush(
        "store:fences",
        JSON.stringify([String(own), String(status.fence), String(again)]),
      );
    });
  }
}

@Module({
  imports: [TurnModule.forRoot({ url: redisUrl(), isGlobal: true })],
  providers: [Store],
})
class AppModule {}

const app = await NestFactory.createApplicationContext(AppModule, {
  logger: [...LOGGER],
});
const store = app.get(Store);
await Promise.all(Array.from({ length: CALLS }, () => store.write()));
await app.close();
redis.disconnect();
say("RESULT", CALLS);
