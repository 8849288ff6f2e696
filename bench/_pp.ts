import { Redis } from "ioredis";
import { now } from "./clock.ts";
const [role, url] = Deno.args;
const cmd = new Redis(url);
const sha = await cmd.script("LOAD", "return 1") as string;
if (role === "b") {
  const sub = new Redis(url);
  await sub.subscribe("ping");
  sub.on("message", async (_c, msg) => {
    const t1 = now();
    await cmd.evalsha(sha, 0);
    const t2 = now();
    await cmd.publish("pong", JSON.stringify([Number(msg), t1, t2]));
  });
  console.log("ready");
} else {
  const sub = new Redis(url);
  await sub.subscribe("pong");
  const hops: number[] = [], full: number[] = [];
  let resolve: () => void = () => {};
  sub.on("message", (_c, msg) => {
    const [t0, t1, t2] = JSON.parse(msg);
    hops.push(t1 - t0);
    full.push(t2 - t0);
    resolve();
  });
  for (let i = 0; i < 300; i++) {
    const p = new Promise<void>((r) => resolve = r);
    await cmd.publish("ping", String(now()));
    await p;
    await new Promise((r) => setTimeout(r, 2));
  }
  const q = (a: number[], x: number) =>
    a.sort((m, n) => m - n)[Math.floor(a.length * x)].toFixed(3);
  console.log(
    "publish->receipt p50",
    q(hops, 0.5),
    "p99",
    q(hops, 0.99),
    "| +1 RTT p50",
    q(full, 0.5),
    "p99",
    q(full, 0.99),
  );
  Deno.exit(0);
}
