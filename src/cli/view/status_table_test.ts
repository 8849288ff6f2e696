import { deepStrictEqual } from "node:assert/strict";
import { formatQueueSizes, formatResources } from "./status_table.ts";

Deno.test("formatResources() matches turn 1.0's status text", () => {
  const text = formatResources(["test_resource", "test_resource_other"], [
    {
      resource: "test_resource",
      indicator: 1,
      dispenser: 1,
      size: 1,
      users: [{ number: 1, label: "test_label", ttl: 60_000 }],
      fence: 0n,
    },
    {
      resource: "test_resource_other",
      indicator: 2,
      dispenser: 1,
      size: 0,
      users: [],
      fence: 0n,
    },
  ]).join("\n") + "\n";
  deepStrictEqual(
    text,
    `\
test_resource                                              1
------------------------------------------------------------
test_label                                                 1

test_resource_other                                        2
------------------------------------------------------------
`,
  );
});

Deno.test("formatResources() sorts users by number and pads by code points", () => {
  const lines = formatResources(["ü🖨"], [{
    resource: "ü🖨",
    indicator: 7,
    dispenser: 9,
    size: 3,
    users: [
      { number: 9, label: "third", ttl: 1 },
      { number: 7, label: "🖨".repeat(55), ttl: 1 },
      { number: 8, label: "second", ttl: 1 },
    ],
    fence: 0n,
  }]);
  deepStrictEqual(lines, [
    "ü🖨" + " ".repeat(48) + "         7",
    "-".repeat(60),
    "🖨".repeat(55) + "         7",
    "second" + " ".repeat(44) + "         8",
    "third" + " ".repeat(45) + "         9",
  ]);
});

Deno.test("formatQueueSizes() lists the largest queue first, ties by name", () => {
  const resource = (name: string, size: number) => ({
    resource: name,
    indicator: 1,
    dispenser: size,
    size,
    users: [],
    fence: 0n,
  });
  deepStrictEqual(
    formatQueueSizes([
      resource("b", 1),
      resource("big", 12),
      resource("a", 1),
      resource("idle", 0),
    ]),
    [
      "Resource                                          Queue size",
      "------------------------------------------------------------",
      "big                                                       12",
      "a                                                          1",
      "b                                                          1",
      "idle                                                       0",
    ],
  );
});
