// @Turn's checks that need neither Nest nor Redis: what a resource or label
// function of the call gives is checked per call, and the error names the
// decorated method and the rule.
import { deepEqual, equal, fail } from "node:assert/strict";
import { TurnDecoratorError } from "../nestjs.ts";
import { makePlan } from "./plan.ts";

const METHOD = "Ledger.post";

function rejected(run: () => unknown): TurnDecoratorError {
  try {
    run();
  } catch (error) {
    if (!(error instanceof TurnDecoratorError)) throw error;
    equal(error.method, METHOD);
    return error;
  }
  return fail("did not throw");
}

Deno.test("a resource function's answer: one name or several, checked", () => {
  const plan = makePlan(METHOD, (a: string, b?: string) => b ? [a, b] : a, {});
  deepEqual(plan.resources(undefined, ["x"]), ["x"]);
  deepEqual(plan.resources(undefined, ["y", "x"]), ["y", "x"]);
});

Deno.test("a bad answer of a resource or label function names the method and the rule", () => {
  const cases: [(...args: never[]) => unknown, string][] = [
    [
      () => [],
      "the @Turn resource function of Ledger.post must return a resource name or a non-empty array of them: resources must not be empty: got []",
    ],
    [
      () => null,
      "the @Turn resource function of Ledger.post must return a resource name or a non-empty array of them: resources must not be empty: got null",
    ],
    [
      () => ["a", 3],
      "the @Turn resource function of Ledger.post must return a resource name or a non-empty array of them: resource must be a string: got 3",
    ],
    [
      () => {
        throw new Error("no account");
      },
      "the @Turn resource function of Ledger.post threw: no account",
    ],
  ];
  for (const [resource, message] of cases) {
    const plan = makePlan(METHOD, resource as () => string, {});
    equal(rejected(() => plan.resources(undefined, [])).message, message);
  }
  const plan = makePlan(METHOD, "r", { label: () => "a\nb" });
  equal(
    rejected(() => plan.label(undefined, [])).message,
    'the @Turn label function of Ledger.post must return a label: label must not contain control characters: got "a\\nb"',
  );
});

Deno.test("a resource function is called with the instance as this", () => {
  const self = { account: "acct:1" };
  const plan = makePlan(
    METHOD,
    function (this: typeof self) {
      return this.account;
    },
    {},
  );
  deepEqual(plan.resources(self, []), ["acct:1"]);
});
