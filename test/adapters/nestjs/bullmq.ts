/**
 * A Nest app with a `@nestjs/bullmq` processor whose `process` is decorated
 * with `@Turn`: jobs of one account take turns, across every worker.
 * `deno run bullmq.ts work` runs a worker; `bullmq.ts work --with-turn` runs
 * one whose `process` goes through the BullMQ middleware (`withTurn`)
 * instead; `bullmq.ts add N` queues N jobs spread over two accounts and exits.
 *
 * @module
 */

import {
  BullModule,
  InjectQueue,
  OnWorkerEvent,
  Processor,
  WorkerHost,
} from "@nestjs/bullmq";
import { Injectable, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import type { Job, Queue } from "bullmq";
// Nest reads the constructor parameter type at run time (emitDecoratorMetadata).
// deno-lint-ignore verbatim-module-syntax
import { Locker } from "../../../mod.ts";
import { Turn, TurnModule } from "../../../adapters/nestjs.ts";
import { withTurn } from "../../../adapters/bullmq.ts";
import { client, LOGGER, redisUrl, say, witnessed } from "./fixture.ts";

interface Invoice {
  readonly account: string;
}

const redis = client();

const account = (job: Job<Invoice>) => `account:${job.data.account}`;

async function work(job: Job<Invoice>, signal?: AbortSignal): Promise<void> {
  await witnessed(redis, account(job), async () => {
    // Long enough that jobs of one account would overlap without turns.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await redis.rpush("jobs:signal", String(signal instanceof AbortSignal));
    await redis.rpush("jobs:done", `${job.id} ${Deno.pid}`);
  });
}

@Processor("invoices", { concurrency: 4 })
class InvoiceProcessor extends WorkerHost {
  @Turn(account)
  override async process(
    job: Job<Invoice>,
    _token?: string,
    signal?: AbortSignal,
  ): Promise<void> {
    await work(job, signal);
  }
}

/** The same processor, taking turns through the BullMQ middleware. */
@Processor("invoices", { concurrency: 4 })
class MiddlewareProcessor extends WorkerHost {
  readonly #shutdown = new AbortController();
  readonly #process: (
    job: Job<Invoice>,
    token?: string,
    signal?: AbortSignal,
  ) => Promise<void>;

  constructor(locker: Locker) {
    super();
    this.#process = withTurn(locker, {
      resource: account,
      shutdown: this.#shutdown.signal,
    }, (job, _token, signal) => work(job, signal));
  }

  // Three parameters, so that BullMQ hands over the cancellation signal.
  override process(
    job: Job<Invoice>,
    token?: string,
    signal?: AbortSignal,
  ): Promise<void> {
    return this.#process(job, token, signal);
  }

  @OnWorkerEvent("closing")
  onClosing(): void {
    this.#shutdown.abort();
  }
}

@Injectable()
class Producer {
  constructor(@InjectQueue("invoices") readonly queue: Queue<Invoice>) {}
}

const { hostname, port } = new URL(redisUrl());
const bull = [
  BullModule.forRoot({
    connection: { host: hostname, port: Number(port) },
  }),
  BullModule.registerQueue({ name: "invoices" }),
];

@Module({
  imports: [TurnModule.forRoot({ url: redisUrl(), isGlobal: true }), ...bull],
  providers: [
    Deno.args.includes("--with-turn") ? MiddlewareProcessor : InvoiceProcessor,
  ],
})
class WorkerModule {}

@Module({ imports: bull, providers: [Producer] })
class ProducerModule {}

if (Deno.args[0] === "add") {
  const app = await NestFactory.createApplicationContext(ProducerModule, {
    logger: [...LOGGER],
  });
  const { queue } = app.get(Producer);
  const count = Number(Deno.args[1]);
  await queue.addBulk(
    Array.from({ length: count }, (_, i) => ({
      name: "invoice",
      data: { account: `a${i % 2}` },
    })),
  );
  await app.close();
  redis.disconnect();
  say("RESULT", count);
} else {
  const app = await NestFactory.createApplicationContext(WorkerModule, {
    logger: [...LOGGER],
  });
  app.enableShutdownHooks(["SIGINT", "SIGTERM"]);
  say("READY");
}
