// withTurn's checks that need no Redis: bad options throw at once with the
// rule and the value; a job's bad resource or label fails only that job.
import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { Locker } from "../../mod.ts";
import { type TurnJob, withTurn } from "../../adapters/bullmq.ts";

// Never connected: every job here fails or needs no turn before any Redis call.
const locker = new Locker({ url: "redis://127.0.0.1:1/0" });
const job: TurnJob & { data: unknown } = {
  id: "7",
  queueName: "invoices",
  data: {},
  log: () => Promise.resolve(0),
  moveToDelayed: () => Promise.resolve(),
};
const ok = () => Promise.resolve("done");

Deno.test("withTurn rejects bad options with the rule and the value", () => {
  const bad: [Record<string, unknown>, ErrorConstructor, string][] = [
    [{ resource: "r" }, TypeError, 'resource must be a function: got "r"'],
    [
      { resource: () => "r", onBusy: "later" },
      TypeError,
      'onBusy must be "wait" or "delay": got "later"',
    ],
    [
      { resource: () => "r", delay: -5 },
      RangeError,
      "delay must be a positive number of milliseconds: got -5",
    ],
    [
      { resource: () => "r", expire: 10 },
      RangeError,
      "expire must be at least 100 milliseconds: got 10",
    ],
    [
      { resource: () => "r", timeout: 0 },
      RangeError,
      "timeout must be a positive number of milliseconds: got 0",
    ],
    [
      { resource: () => "r", capacity: 2.5 },
      RangeError,
      "capacity must be a whole number of places, at least 1: got 2.5",
    ],
    [
      { resource: () => "r", shared: "yes" },
      TypeError,
      'shared must be true or false: got "yes"',
    ],
    [
      { resource: () => "r", label: "x" },
      TypeError,
      'label must be a function: got "x"',
    ],
    [
      { resource: () => "r", shutdown: true },
      TypeError,
      "shutdown must be an AbortSignal: got true",
    ],
  ];
  for (const [options, type, message] of bad) {
    throws(() => withTurn(locker, options as never, ok), {
      name: type.name,
      message,
    });
  }
  throws(() => withTurn(locker, { resource: () => "r" }, null as never), {
    name: "TypeError",
    message: "processor must be a function: got null",
  });
});

Deno.test("the processor declares (job, token, signal), so BullMQ passes the signal", () => {
  equal(withTurn(locker, { resource: () => "r" }, ok).length, 3);
});

Deno.test("a job's bad resource or label fails that job with its name in the message", async () => {
  const cases: [Parameters<typeof withTurn>[1], string][] = [
    [
      { resource: () => "" },
      'resource(job) for job invoices#7: resource must not be empty: got ""',
    ],
    [
      { resource: () => ["a", 3] as never },
      "resource(job) for job invoices#7: resource must be a string: got 3",
    ],
    [
      { resource: () => ({}) as never },
      "resource(job) for job invoices#7: resource must be a string: got [object Object]",
    ],
    [
      { resource: () => "r", label: () => "a\nb" },
      'label(job) for job invoices#7: label must not contain control characters: got "a\\nb"',
    ],
  ];
  for (const [options, message] of cases) {
    await rejects(withTurn(locker, options, ok)(job), { message });
  }
});

Deno.test("a job whose resource is null or [] runs at once, with a signal", async () => {
  for (const resource of [() => null, () => []]) {
    const seen: unknown[] = [];
    const processor = withTurn(locker, { resource }, (j, token, signal) => {
      seen.push(j, token, signal instanceof AbortSignal);
      return Promise.resolve("ran");
    });
    equal(await processor(job, "token"), "ran");
    deepEqual(seen, [job, "token", true]);
  }
});
