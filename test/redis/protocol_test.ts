import assert from "node:assert/strict";
import {
  drawKey,
  grantProof,
  newDrawToken,
  newWakeId,
  numberOfPresenceKey,
  parseWake,
  presenceKey,
  resourceKeys,
  resourceOf,
  tokenKey,
  wakeChannel,
} from "../../src/redis/keys.ts";
import { parseMessage } from "../../src/messages.ts";
import { scriptFor, SCRIPTS } from "../../src/redis/scripts.ts";

Deno.test("key and channel names are turn 1.0's", () => {
  const keys = resourceKeys("printer");
  assert.deepEqual(keys, {
    resource: "printer",
    base: "turn:printer:",
    dispenser: "turn:printer:dispenser",
    indicator: "turn:printer:indicator",
    presencePrefix: "turn:printer:serial:",
    tokenPrefix: "turn:printer:token:",
    fence: "turn:printer:fence",
    drawPrefix: "turn:printer:draw:",
    internal: "turn:printer:internal",
    external: "turn:printer:external",
    wakePrefix: "turn:printer:wake:",
  });
  assert.equal(presenceKey(keys, 7), "turn:printer:serial:7");
  assert.equal(tokenKey(keys, 7), "turn:printer:token:7");
  assert.equal(drawKey(keys, "ab12"), "turn:printer:draw:ab12");
  assert.equal(resourceKeys("a", true).dispenser, "turn:{a}:dispenser");
});

Deno.test("presence keys of another resource are not mistaken for numbers", () => {
  const keys = resourceKeys("a");
  assert.equal(numberOfPresenceKey(keys, "turn:a:serial:12"), 12);
  assert.equal(
    numberOfPresenceKey(keys, "turn:a:serial:1:serial:2"),
    undefined,
  );
  assert.equal(numberOfPresenceKey(keys, "turn:a:serial:01"), undefined);
  assert.equal(numberOfPresenceKey(keys, "turn:b:serial:1"), undefined);
  // Token and draw keys are never read as presences, by turn 1.0 either:
  // its pattern turn:<r>:serial:* does not match them.
  assert.equal(numberOfPresenceKey(keys, tokenKey(keys, 3)), undefined);
  assert.equal(numberOfPresenceKey(keys, drawKey(keys, "3")), undefined);
});

Deno.test("draw tokens are 32 hex digits, fresh each time, also within one Locker", () => {
  const wakeId = newWakeId();
  for (const make of [() => newDrawToken(), () => newDrawToken(wakeId)]) {
    const tokens = new Set(Array.from({ length: 1000 }, make));
    assert.equal(tokens.size, 1000);
    for (const token of tokens) assert.match(token, /^[0-9a-f]{32}$/);
  }
});

Deno.test("a resource's names are the same kept or built again, with and without a hash tag", () => {
  const first = resourceKeys("kept");
  assert.equal(resourceKeys("kept"), first);
  assert.equal(resourceKeys("kept", true).dispenser, "turn:{kept}:dispenser");
  // Far more resources than are kept: the first is built again, alike.
  for (let index = 0; index < 5000; index++) resourceKeys(`other ${index}`);
  assert.deepEqual(resourceKeys("kept"), first);
  assert.equal(resourceKeys("kept").dispenser, "turn:kept:dispenser");
  assert.throws(() => (first as { base: string }).base = "x", TypeError);
});

Deno.test("resource names come back from key and channel names", () => {
  assert.equal(resourceOf("turn:a:b:dispenser", "dispenser"), "a:b");
  assert.equal(resourceOf("turn:x:external", "external"), "x");
  assert.equal(resourceOf("turn:{x}:external", "external", true), "x");
  assert.equal(resourceOf("turn:x:external", "external", true), undefined);
  assert.equal(resourceOf("other:x:external", "external"), undefined);
});

Deno.test("every message form parses", () => {
  const cases: [string, unknown][] = [
    ['r: 1 assigned to "a "quoted" label"', {
      kind: "assigned",
      number: 1,
      label: 'a "quoted" label',
    }],
    ["r: 2 started", { kind: "started", number: 2 }],
    ["r: 2 started (fence 17)", { kind: "started", number: 2, fence: 17n }],
    ['r: 3 completed by "x"', { kind: "completed", number: 3, label: "x" }],
    ["r: 4 granted", { kind: "granted", number: 4 }],
    ["r: 5 bumps", { kind: "bumps", number: 5 }],
    ["r: 6 crashed!", { kind: "crashed", number: 6 }],
    ["r: 7 left", { kind: "left", number: 7 }],
    ["r: 8 lapsed", { kind: "lapsed", number: 8 }],
    ["r: Reset tool bumps.", { kind: "reset", number: undefined }],
  ];
  for (const [payload, expected] of cases) {
    assert.deepEqual(parseMessage("r", payload), expected, payload);
  }
  assert.equal(parseMessage("r", "r: something else"), undefined);
  assert.equal(parseMessage("r", "s: 1 started"), undefined);
});

Deno.test("scripts have distinct names and declare their keys", () => {
  assert.equal(new Set(SCRIPTS.map((s) => s.name)).size, SCRIPTS.length);
  for (const script of SCRIPTS) {
    // Counters; a draw adds its draw key; a user's script its presence,
    // token and draw keys.
    assert.ok([2, 3, 5].includes(script.keys), script.name);
  }
});

Deno.test("with a hash tag every name of a resource hashes the same tag", () => {
  const keys = resourceKeys("a}b", true);
  // Redis hashes the text between the first "{" and the next "}": "a".
  const names = [
    keys.dispenser,
    keys.indicator,
    keys.internal,
    wakeChannel(keys, newWakeId()),
    presenceKey(keys, 1),
    tokenKey(keys, 1),
    drawKey(keys, newDrawToken()),
  ];
  for (const name of names) {
    assert.ok(name.startsWith("turn:{a}b}:"), name);
  }
  assert.throws(
    () => resourceKeys("}x", true),
    /resource must not start with "}" when keys carry a hash tag \(Redis Cluster\): got "}x"/,
  );
  assert.equal(resourceKeys("}x").dispenser, "turn:}x:dispenser");
});

Deno.test("script variants: a cluster's adds the slot probe, a sharded one publishes grants with SPUBLISH", () => {
  for (const script of SCRIPTS) {
    assert.equal(scriptFor(script, "single"), script);
    const cluster = scriptFor(script, "cluster");
    const sharded = scriptFor(script, "sharded");
    assert.equal(cluster.name, `${script.name}Cluster`);
    assert.equal(sharded.name, `${script.name}Sharded`);
    assert.ok(!script.lua.includes("is moving"), script.name);
    assert.ok(cluster.lua.includes("is moving"), script.name);
    assert.ok(!cluster.lua.includes("SPUBLISH"));
    assert.equal(
      sharded.lua.replaceAll("'SPUBLISH'", "'PUBLISH'"),
      cluster.lua,
    );
    // Only grants go out sharded: the external channel keeps PUBLISH.
    if (sharded.lua.includes("local function say")) {
      assert.match(sharded.lua, /'PUBLISH', base \.\. 'external'/);
    }
  }
});

Deno.test("draw tokens begin with their Locker's wake id; wake messages parse", () => {
  const wakeId = newWakeId();
  assert.match(wakeId, /^[0-9a-f]{16}$/);
  const token = newDrawToken(wakeId);
  assert.match(token, /^[0-9a-f]{32}$/);
  assert.ok(token.startsWith(wakeId));
  assert.notEqual(newDrawToken(wakeId), token);
  const keys = resourceKeys("printer");
  assert.equal(wakeChannel(keys, wakeId), `turn:printer:wake:${wakeId}`);
  const proof = grantProof(token);
  assert.match(proof, /^[0-9a-f]{40}$/);
  assert.deepEqual(parseWake(`7 ${proof} 1796303566195450`), {
    kind: "grant",
    n: 7,
    proof,
    fence: 1796303566195450n,
  });
  assert.deepEqual(parseWake("7 watch"), { kind: "watch", n: 7 });
  assert.deepEqual(parseWake("7 skipped"), { kind: "skipped", n: 7 });
  for (
    const payload of [
      "",
      "7",
      `0 ${proof} 1`,
      `7 ${proof}`,
      `7 ${proof.toUpperCase()} 1`,
      `7 ${proof} 1 2`,
      "07 watch",
      "turn:printer:serial:7",
    ]
  ) {
    assert.equal(parseWake(payload), undefined, payload);
  }
});
