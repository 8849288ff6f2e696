// Runs a command with TURN_REDIS_URL pointing at a throwaway redis-server, so
// documentation examples that say `new Locker()` really run.
// Usage: deno run -A test/support/with_redis.ts <command> [args...]
import { startRedis } from "../../support/redis_server.ts";

const [command, ...args] = Deno.args;
await using server = await startRedis();
const { code } = await new Deno.Command(command, {
  args,
  env: { TURN_REDIS_URL: server.url },
}).spawn().status;
await server.stop();
Deno.exit(code);
