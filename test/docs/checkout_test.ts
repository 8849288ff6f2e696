// Using a checkout from a script outside it, as docs/INSTALL.md says: import
// mod.ts by path and run with the checkout's deno.json (after `deno install`
// in the checkout, which the test task has done).
import { equal } from "node:assert/strict";
import { startRedis } from "../../support/redis_server.ts";

const CHECKOUT = new URL("../../", import.meta.url).pathname;

Deno.test("a script outside the checkout runs with --config and --allow-net --allow-env", async () => {
  await using server = await startRedis();
  const dir = await Deno.makeTempDir({ prefix: "turn-user-" });
  try {
    await Deno.writeTextFile(
      `${dir}/my_script.ts`,
      `import { Locker } from "${CHECKOUT}mod.ts";\n` +
        `await using locker = new Locker();\n` +
        `await locker.withLock("printer", (lock) => console.log(\`number \${lock.number}\`));\n`,
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--config",
        `${CHECKOUT}deno.json`,
        "--allow-net",
        "--allow-env",
        "my_script.ts",
      ],
      cwd: dir,
      env: { TURN_URL: "", TURN_REDIS_URL: server.url },
      stdout: "piped",
      stderr: "piped",
    }).output();
    equal(code, 0, new TextDecoder().decode(stderr));
    equal(new TextDecoder().decode(stdout), "number 1\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
