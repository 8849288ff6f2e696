/**
 * One Nest application taking `@Turn("ledger")` calls on command: the test
 * pushes `call <id>` to `ledger:commands:<name>` to start a call (labelled
 * `<id>`) and `end` to finish. A call holds its turn until the test pushes to
 * `ledger:release`. Two of these run side by side.
 *
 * @module
 */

import { Injectable, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { Turn, TurnModule } from "../../../adapters/nestjs.ts";
import {
  awaitSignal,
  client,
  LOGGER,
  redisUrl,
  say,
  witnessed,
} from "./fixture.ts";

const redis = client();

@Injectable()
class Ledger {
  @Turn("ledger", { label: (id: string) => id })
  async post(id: string): Promise<void> {
    await witnessed(redis, "ledger", async () => {
      await redis.rpush("ledger:order", id);
      await awaitSignal(redis, "ledger:release");
    });
  }
}

@Module({
  imports: [TurnModule.forRoot({ url: redisUrl(), isGlobal: true })],
  providers: [Ledger],
})
class AppModule {}

const app = await NestFactory.createApplicationContext(AppModule, {
  logger: [...LOGGER],
});
const ledger = app.get(Ledger);
const commands = redis.duplicate();
say("READY");
const calls: Promise<void>[] = [];
while (true) {
  const popped = await commands.blpop(`ledger:commands:${Deno.args[0]}`, 60);
  if (popped === null) throw new Error("no command from the test within 60 s");
  const [verb, id] = popped[1].split(" ");
  if (verb === "end") break;
  calls.push(ledger.post(id));
}
await Promise.all(calls);
await app.close();
commands.disconnect();
redis.disconnect();
say("RESULT", calls.length);
