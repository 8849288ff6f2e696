/**
 * The decorator's behaviour and errors inside one Nest application context;
 * reports what it observed as one JSON object for the test to check.
 *
 * @module
 */

import { Injectable, Module, SetMetadata } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import {
  currentTurn,
  Turn,
  TurnDecoratorError,
  TurnModule,
} from "../../../adapters/nestjs.ts";
import { TimeoutError } from "../../../mod.ts";
import { redisUrl, say } from "./fixture.ts";

const FAILURE = new Error("the method failed");

@Injectable()
class Ledger {
  @Turn((names: string[]) => names, { label: (names) => names.join("+") })
  sorted(_names: string[]): unknown {
    const { locks } = currentTurn();
    return {
      resources: locks.map((lock) => lock.resource),
      label: locks[0].label,
    };
  }

  @Turn((name: string) => name)
  async own(
    name: string,
    entered: () => void,
    held: Promise<void>,
  ): Promise<string> {
    entered();
    await held;
    return currentTurn().locks[0].resource === name ? "own" : "foreign";
  }

  @Turn("partner-api", { capacity: 2 })
  async partner(entered: () => void, leave: Promise<void>): Promise<number> {
    entered();
    await leave;
    return currentTurn().locks[0].number;
  }

  @Turn("busy")
  async hold(entered: () => void, leave: Promise<void>): Promise<void> {
    entered();
    await leave;
  }

  @Turn("busy", { timeout: 300, onTimeout: "skip" })
  skipped(): string {
    return "ran";
  }

  @Turn("busy", { timeout: 300 })
  thrown(): string {
    return "ran";
  }

  @Turn(() => {
    throw new Error("no account");
  })
  async throwingResource(): Promise<void> {}

  @Turn(() => 42 as unknown as string)
  async numericResource(): Promise<void> {}

  @Turn("crash")
  crash(): void {
    throw FAILURE;
  }

  // Blocking the event loop past `expire` loses the lease for certain.
  @Turn("lost", { expire: 200 })
  blocked(): string {
    const end = Date.now() + 1_000;
    while (Date.now() < end) { /* busy */ }
    return "done alone?";
  }

  @SetMetadata("outer", true)
  @Turn("meta")
  @SetMetadata("inner", true)
  sync(a: number, b: number, c: number): number {
    return a + b + c;
  }
}

@Module({ providers: [Ledger] })
class WithoutTurnModule {}

@Module({
  imports: [TurnModule.forRoot({ url: redisUrl() })],
  providers: [Ledger],
})
class AppModule {}

function outcome(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => ({ value: value ?? null }),
    (error: Error) => ({
      name: error.name,
      message: error.message,
      method: error instanceof TurnDecoratorError ? error.method : null,
      timeout: error instanceof TimeoutError,
      same: error === FAILURE,
    }),
  );
}

async function missingModule(): Promise<unknown> {
  return await outcome(
    NestFactory.createApplicationContext(WithoutTurnModule, {
      logger: false,
      abortOnError: false,
    }),
  );
}

function badOption(): unknown {
  try {
    class Bad {
      post(): void {}
    }
    const descriptor = Object.getOwnPropertyDescriptor(Bad.prototype, "post")!;
    Turn("x", { timeout: -5 })(Bad.prototype, "post", descriptor);
    return { value: "accepted" };
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
}

async function timeouts(ledger: Ledger): Promise<unknown> {
  const entered = Promise.withResolvers<void>();
  const leave = Promise.withResolvers<void>();
  const holding = ledger.hold(entered.resolve, leave.promise);
  await entered.promise;
  const skipped = await outcome(Promise.resolve(ledger.skipped()));
  const thrown = await outcome(Promise.resolve(ledger.thrown()));
  leave.resolve();
  await holding;
  return { skipped, thrown };
}

/**
 * Three calls on a capacity of 2: two are inside at once, the third enters
 * only once one of them has left, and it is the third ticket.
 */
async function capacity(ledger: Ledger): Promise<unknown> {
  const entered = [0, 1, 2].map(() => Promise.withResolvers<void>());
  const leave = [0, 1, 2].map(() => Promise.withResolvers<void>());
  const inside: number[] = [];
  const calls = [0, 1, 2].map((i) =>
    ledger.partner(() => {
      inside.push(i);
      entered[i].resolve();
    }, leave[i].promise)
  );
  await Promise.all([entered[0].promise, entered[1].promise]);
  // The third is not let in while two hold: it is still waiting after a
  // round of status reads.
  await new Promise((r) => setTimeout(r, 200));
  const beforeLeave = [...inside];
  leave[0].resolve();
  await entered[2].promise;
  leave[1].resolve();
  leave[2].resolve();
  return { beforeLeave, numbers: await Promise.all(calls) };
}

function badCapacity(): unknown {
  try {
    class Bad {
      post(): void {}
    }
    const descriptor = Object.getOwnPropertyDescriptor(Bad.prototype, "post")!;
    Turn("x", { capacity: 0 })(Bad.prototype, "post", descriptor);
    return { value: "accepted" };
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
}

async function isolation(ledger: Ledger): Promise<unknown> {
  // Both calls are inside their turns before either reads its context.
  const a = Promise.withResolvers<void>();
  const b = Promise.withResolvers<void>();
  const held = Promise.withResolvers<void>();
  const calls = [
    ledger.own("iso:a", a.resolve, held.promise),
    ledger.own("iso:b", b.resolve, held.promise),
  ];
  await Promise.all([a.promise, b.promise]);
  held.resolve();
  return await Promise.all(calls);
}

const app = await NestFactory.createApplicationContext(AppModule, {
  logger: false,
});
const ledger = app.get(Ledger);
const proto = Ledger.prototype;
const result = {
  missingModule: await missingModule(),
  plainInstance: await outcome(Promise.resolve(new Ledger().sorted(["a"]))),
  badOption: badOption(),
  outside: await outcome(Promise.resolve().then(() => currentTurn())),
  sorted: await outcome(Promise.resolve(ledger.sorted(["b", "a", "c", "a"]))),
  throwingResource: await outcome(ledger.throwingResource()),
  numericResource: await outcome(ledger.numericResource()),
  crash: await outcome(Promise.resolve(ledger.crash())),
  afterCrash: await outcome(Promise.resolve(ledger.crash())),
  leaseLost: await outcome(Promise.resolve(ledger.blocked())),
  timeouts: await timeouts(ledger),
  isolation: await isolation(ledger),
  capacity: await capacity(ledger),
  badCapacity: badCapacity(),
  sync: await outcome(Promise.resolve(ledger.sync(1, 2, 3))),
  identity: {
    name: proto.sync.name,
    length: proto.sync.length,
    outer: Reflect.getMetadata("outer", proto.sync) ?? null,
    inner: Reflect.getMetadata("inner", proto.sync) ?? null,
  },
};
await app.close();
say("RESULT", result);
