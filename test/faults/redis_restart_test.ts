// Redis restarts, without persistence, while one user holds a resource and
// five wait, each in its own process. The restart loses every key; the
// holder's presence is gone, so its lease must end before anyone is granted.
import { faultTest } from "./_outage.ts";
import { startRedis } from "../../support/redis_server.ts";

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  faultTest(`Redis restarted with ${signal} while held and waited for`, {
    // Longer than the outage: only noticing the restart ends the holder's lease.
    expire: 20_000,
    quitterTimeout: 3_000,
    async fault({ server, quitters }) {
      await server.stop(signal);
      // Redis stays away until the quitters' timeouts have run out.
      await Promise.all(quitters.map((q) => q.until("failed")));
      const back = await startRedis({ port: server.port });
      return [Date.now(), back];
    },
  });
}
