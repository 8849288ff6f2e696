/**
 * `app.close()` while one call holds `@Turn("door")` and another waits for
 * it: the waiting call must give up at once, close must wait for the holding
 * call to return, then finish promptly.
 *
 * @module
 */

import { Injectable, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { Turn, TurnModule } from "../../../adapters/nestjs.ts";
import { Locker } from "../../../mod.ts";
import { LOGGER, redisUrl, say } from "./fixture.ts";

const order: string[] = [];

@Injectable()
class Door {
  @Turn("door")
  async pass(entered: () => void, leave: Promise<void>): Promise<void> {
    entered();
    await leave;
    order.push("holder returned");
  }
}

@Module({
  imports: [TurnModule.forRoot({ url: redisUrl() })],
  providers: [Door],
})
class AppModule {}

function settled(promise: Promise<unknown>): Promise<string> {
  return promise.then(() => "returned", (error: Error) => error.name);
}

const app = await NestFactory.createApplicationContext(AppModule, {
  logger: [...LOGGER],
});
const door = app.get(Door);
const locker = app.get(Locker);
const follow = locker.follow(["door"]);
await follow.ready;
// A spy on the order of things: the Locker must close after the holder's end.
const close = locker.close.bind(locker);
locker.close = () => {
  order.push("locker closed");
  return close();
};

const holder = Promise.withResolvers<void>();
const leave = Promise.withResolvers<void>();
const holding = settled(door.pass(holder.resolve, leave.promise));
await holder.promise;
const waiting = settled(door.pass(() => {}, new Promise(() => {})));
for await (const event of follow) {
  if (event.kind === "assigned" && event.number === 2) break;
}

const closing = app.close();
const waiter = await waiting;
leave.resolve();
const started = performance.now();
const holderOutcome = await holding;
await closing;
const closeMs = performance.now() - started;
say("RESULT", { waiter, holder: holderOutcome, order, closeMs });
