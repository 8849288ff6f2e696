// A NestJS 12 application using the npm package's adapter: `@Turn` on a
// service method and on an `@nestjs/bullmq` processor, compiled by tsc with
// experimentalDecorators and emitDecoratorMetadata like any Nest app.
import "reflect-metadata";
import assert from "node:assert/strict";
import { test } from "node:test";
import { BullModule, InjectQueue, Processor, WorkerHost } from "@nestjs/bullmq";
import { Injectable, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import type { Job, Queue } from "bullmq";
import { Redis } from "ioredis";
import { currentTurn, Turn, TurnModule } from "@turn/turn/nestjs";
import { startRedis } from "./redis.js";
import { sleep, waitFor, witnessed } from "./helpers.js";

interface Invoice {
  readonly account: string;
}

const JOBS = 16;

function appModule(url: string, redis: Redis) {
  @Injectable()
  class Ledger {
    /** A read-modify-write that loses deposits if two calls overlap. */
    @Turn("ledger", { label: "deposit" })
    async deposit(amount: number): Promise<number> {
      return await witnessed(redis, "ledger", async () => {
        const balance = Number(await redis.get("balance") ?? 0);
        await sleep(5);
        await redis.set("balance", balance + amount);
        return currentTurn().locks[0].number;
      });
    }
  }

  @Processor("invoices", { concurrency: 4 })
  class InvoiceProcessor extends WorkerHost {
    @Turn((job: Job<Invoice>) => `account:${job.data.account}`)
    override async process(
      job: Job<Invoice>,
      _token?: string,
      signal?: AbortSignal,
    ): Promise<void> {
      assert.ok(signal instanceof AbortSignal, "BullMQ's signal gets through");
      await witnessed(redis, `account:${job.data.account}`, () => sleep(10));
      await redis.rpush("invoices:done", String(job.id));
    }
  }

  @Injectable()
  class Billing {
    constructor(@InjectQueue("invoices") readonly queue: Queue<Invoice>) {}
  }

  const { hostname, port } = new URL(url);
  @Module({
    imports: [
      TurnModule.forRoot({ url, isGlobal: true }),
      BullModule.forRoot({
        connection: { host: hostname, port: Number(port) },
      }),
      BullModule.registerQueue({ name: "invoices" }),
    ],
    providers: [Ledger, InvoiceProcessor, Billing],
  })
  class AppModule {}

  return { AppModule, Ledger, Billing };
}

test("NestJS 12: @Turn on a service method and on a @nestjs/bullmq processor", async () => {
  await using server = await startRedis();
  const redis = new Redis(server.url);
  const { AppModule, Ledger, Billing } = appModule(server.url, redis);
  const app = await NestFactory.createApplicationContext(AppModule, {
    logger: false,
  });
  try {
    const ledger = app.get(Ledger);
    const turns = await Promise.all(
      Array.from({ length: 10 }, () => ledger.deposit(5)),
    );
    assert.equal(await redis.get("balance"), "50", "a deposit was lost");
    assert.equal(await redis.get("ledger:max"), "1");
    assert.ok(turns.every((n) => n > 0), `currentTurn() inside: ${turns}`);

    await app.get(Billing).queue.addBulk(
      Array.from({ length: JOBS }, (_, i) => ({
        name: "invoice",
        data: { account: i % 2 ? "alice" : "bob" },
      })),
    );
    await waitFor(
      async () => (await redis.llen("invoices:done")) === JOBS,
      `${JOBS} invoices processed`,
    );
    assert.equal(await redis.get("account:alice:max"), "1");
    assert.equal(await redis.get("account:bob:max"), "1");
  } finally {
    await app.close();
    redis.disconnect();
  }
});
