// Redis stops answering for longer than `expire` (CLIENT PAUSE, DEBUG SLEEP)
// while one user holds a resource and five wait, each in its own process.
// No heartbeat gets through, so the holder's lease must end before Redis is
// back, and the waiters that give up meanwhile must not wait for Redis.
import { Redis } from "ioredis";
import { faultTest, type Outage } from "./_outage.ts";

const EXPIRE = 1_000;
const PAUSE = 4 * EXPIRE;

async function paused(
  { server }: Outage,
  pause: (redis: Redis) => Promise<number>,
): Promise<[number, typeof server]> {
  const redis = new Redis(server.url);
  try {
    return [await pause(redis), server];
  } finally {
    redis.disconnect();
  }
}

faultTest(`Redis paused with CLIENT PAUSE for ${PAUSE} ms`, {
  expire: EXPIRE,
  quitterTimeout: 1_000,
  fault: (outage) =>
    paused(outage, async (redis) => {
      await redis.call("CLIENT", "PAUSE", String(PAUSE), "ALL");
      return Date.now() + PAUSE;
    }),
});

faultTest(`Redis blocked with DEBUG SLEEP for ${PAUSE} ms`, {
  args: ["--enable-debug-command", "local"],
  expire: EXPIRE,
  quitterTimeout: 1_000,
  fault: (outage) =>
    paused(outage, async (redis) => {
      await redis.call("DEBUG", "SLEEP", String(PAUSE / 1000));
      return Date.now();
    }),
});
