import { startRedis } from "../test/redis_server.ts";
await using server = await startRedis();
const b = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", "bench/_pp.ts", "b", server.url],
  stdout: "piped",
}).spawn();
const reader = b.stdout.getReader();
await reader.read();
for (let i = 0; i < 3; i++) {
  const a = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bench/_pp.ts", "a", server.url],
  }).output();
  console.log(new TextDecoder().decode(a.stdout).trim());
}
b.kill();
