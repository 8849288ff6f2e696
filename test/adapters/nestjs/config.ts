/**
 * `TurnModule.forRootAsync` with the Redis URL from `ConfigService`,
 * registered globally, used by a provider of a feature module that does not
 * import it, which also injects the `Locker` by its class.
 *
 * @module
 */

import { Injectable, Module } from "@nestjs/common";
import { ConfigModule, ConfigService } from "@nestjs/config";
import { NestFactory } from "@nestjs/core";
import { currentTurn, Turn, TurnModule } from "../../../adapters/nestjs.ts";
// A value import: the constructor's parameter type is emitted as metadata
// for Nest's injector, which a type-only import would erase.
// deno-lint-ignore verbatim-module-syntax
import { Locker } from "../../../mod.ts";
import { LOGGER, say } from "./fixture.ts";

@Injectable()
class Ledger {
  constructor(readonly locker: Locker) {}

  @Turn("config")
  async post(): Promise<unknown> {
    const [status] = await this.locker.status(["config"]);
    const lock = currentTurn().locks[0];
    return { number: lock.number, label: lock.label, users: status.users };
  }
}

@Module({ providers: [Ledger] })
class FeatureModule {}

@Module({
  imports: [
    ConfigModule.forRoot({ ignoreEnvFile: true }),
    TurnModule.forRootAsync({
      isGlobal: true,
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        url: config.getOrThrow<string>("FIXTURE_REDIS_URL"),
      }),
    }),
    FeatureModule,
  ],
})
class AppModule {}

const app = await NestFactory.createApplicationContext(AppModule, {
  logger: [...LOGGER],
});
const result = await app.get(Ledger).post();
await app.close();
say("RESULT", result);
