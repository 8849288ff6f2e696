// `deno task demo`: several processes take turns on one resource while this
// one shows the follow stream and the queue, then everything exits by itself.
// It uses the file backend in a temporary directory, so it needs no server.
import { Locker } from "./mod.ts";

const WORKERS = 4;
const CYCLES = 3;
const resource = "printer";

if (Deno.args[0] === "worker") {
  const [, url, name] = Deno.args;
  await using locker = new Locker({ url });
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    await locker.withLock(resource, async () => {
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 150));
    }, { label: `${name} job ${cycle}` });
    await new Promise((r) => setTimeout(r, Math.random() * 100));
  }
  Deno.exit(0);
}

const dir = await Deno.makeTempDir({ prefix: "turn-demo-" });
const url = `file://${dir}`;
try {
  await using locker = new Locker({ url });
  const follow = locker.follow([resource]);
  await follow.ready;
  console.log(
    `${url}: ${WORKERS} worker processes x ${CYCLES} turns on "${resource}"\n`,
  );
  const workers = Array.from(
    { length: WORKERS },
    (_, i) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          `--allow-read=${dir}`,
          `--allow-write=${dir}`,
          "--allow-env",
          "--allow-sys",
          import.meta.filename!,
          "worker",
          url,
          `worker-${i + 1}`,
        ],
      }).spawn().status,
  );
  const printing = (async () => {
    for await (const event of follow) {
      let line = event.message;
      if (event.kind === "started") {
        const [status] = await locker.status([resource]);
        const queue = status?.users.map((u) => `${u.number}:${u.label}`) ?? [];
        line = `${line.padEnd(40)} queue: ${queue.join(" | ")}`;
      }
      console.log(line);
    }
  })();
  await Promise.all(workers);
  await follow.return();
  await printing;
  const left = await locker.status([resource]);
  console.log(
    `\nall done; queue left for "${resource}": ${
      left.length === 0 ? "none" : JSON.stringify(left)
    }`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
