/**
 * A NestJS app whose deposits to one account take turns through Redis, so
 * concurrent requests (to this process or to any other instance) never
 * overwrite each other's balance. See README.md beside this file.
 *
 * Run: `deno run -A examples/nestjs/main.ts` (add `--serve` to keep serving).
 *
 * @module
 */

import "reflect-metadata";
import {
  Controller,
  Get,
  Inject,
  Module,
  type OnApplicationShutdown,
  Param,
  Post,
  type Type,
} from "@nestjs/common";
import { HttpAdapterHost, NestFactory } from "@nestjs/core";
import { Redis } from "ioredis";
import type { AddressInfo } from "node:net";
import { currentTurn, Turn, TurnModule } from "@turn/turn/nestjs";
import { exampleRedis } from "../example_redis.ts";
import { TurnTimeoutFilter } from "./turn_timeout.filter.ts";

/** The app's own data: balances in a Redis hash, removed at shutdown. */
const BALANCES = "turn-example:balances";

interface Receipt {
  readonly account: string;
  readonly balance: number;
  readonly turn: number;
}

@Controller("accounts")
class AccountsController implements OnApplicationShutdown {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  /** An example leaves nothing behind on the Redis it was given. */
  async onApplicationShutdown(): Promise<void> {
    await this.redis.del(BALANCES);
    this.redis.disconnect();
  }

  @Post(":account/deposit/:amount")
  @Turn((account: string) => `account:${account}`, {
    label: (account: string, amount: string) =>
      `deposit ${amount} to ${account}`,
    timeout: 10_000,
  })
  async deposit(
    @Param("account") account: string,
    @Param("amount") amount: string,
  ): Promise<Receipt> {
    // Read, think, write: without the turn, concurrent deposits would
    // read the same balance and the last write would win.
    const balance = Number(await this.redis.hget(BALANCES, account) ?? 0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const updated = balance + Number(amount);
    await this.redis.hset(BALANCES, account, updated);
    return { account, balance: updated, turn: currentTurn().locks[0].number };
  }

  @Get(":account")
  async balance(@Param("account") account: string): Promise<number> {
    return Number(await this.redis.hget(BALANCES, account) ?? 0);
  }
}

function appModule(url: string): Type {
  @Module({
    imports: [TurnModule.forRoot({ url, isGlobal: true })],
    controllers: [AccountsController],
    providers: [{ provide: Redis, useFactory: () => new Redis(url) }],
  })
  class AppModule {}
  return AppModule;
}

async function depositConcurrently(base: string): Promise<void> {
  const deposits = 20;
  const receipts: Receipt[] = await Promise.all(
    Array.from({ length: deposits }, async () => {
      const response = await fetch(`${base}/accounts/alice/deposit/5`, {
        method: "POST",
      });
      return await response.json();
    }),
  );
  const turns = receipts.map((receipt) => receipt.turn).sort((a, b) => a - b);
  const final = await (await fetch(`${base}/accounts/alice`)).json();
  console.log(`${deposits} concurrent deposits of 5, served in turns ${turns}`);
  console.log(`alice's balance: ${final} (expected ${deposits * 5})`);
}

// The Redis a Locker takes from the environment (TURN_URL, TURN_REDIS_URL,
// REDIS_URL), else a throwaway redis-server.
const redis = await exampleRedis();
const { url } = redis;
const app = await NestFactory.create(appModule(url), {
  logger: ["error", "warn"],
});
app.useGlobalFilters(new TurnTimeoutFilter(app.get(HttpAdapterHost)));
// Deno has no SIGILL listener: name the signals instead of the default list.
app.enableShutdownHooks(["SIGINT", "SIGTERM"]);
await app.listen(0, "127.0.0.1");
const { port } = app.getHttpServer().address() as AddressInfo;
const base = `http://127.0.0.1:${port}`;
console.log(`listening on ${base}`);
await depositConcurrently(base);
if (Deno.args.includes("--serve")) {
  console.log(
    `try: curl -X POST ${base}/accounts/bob/deposit/7 (Ctrl-C stops)`,
  );
} else {
  await app.close();
  await redis[Symbol.asyncDispose]();
}
