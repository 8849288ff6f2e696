// Fencing tokens in action: a holder frozen past `expire` (SIGSTOP, then
// SIGCONT) writes after a newer holder did. A store that checks `lock.fence`
// refuses that stale write; the same program with a store that does not
// lets it overwrite the newer one. Run: deno run -A examples/fencing/main.ts
import { Locker } from "../../mod.ts";
import { serveStore } from "./store.ts";

const EXPIRE_MS = 1_000;

async function scenario(fenced: boolean): Promise<string> {
  await using store = serveStore(fenced);
  const resource = "ledger";
  const holder = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      new URL("./holder.ts", import.meta.url).pathname,
      store.url,
      resource,
      String(EXPIRE_MS),
    ],
    stdout: "piped",
  }).spawn();
  const lines = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  while (!said.includes("checked\n")) {
    const { value, done } = await lines.read();
    if (done) throw new Error("the holder ended before taking its turn");
    said += value;
  }
  holder.kill("SIGSTOP");
  // The frozen holder's presence lapses within EXPIRE_MS; then it is our turn.
  await using locker = new Locker();
  await locker.withLock(resource, async (lock) => {
    await fetch(`${store.url}?fence=${lock.fence}`, {
      method: "POST",
      body: "fresh",
    });
  }, { label: "newer holder" });
  holder.kill("SIGCONT");
  while (!/accepted|refused/.test(said)) {
    const { value, done } = await lines.read();
    if (done) break;
    said += value;
  }
  await holder.status;
  const verdict = said.includes("refused") ? "refused" : "accepted";
  return `${
    fenced ? "with" : "without"
  } fencing: the frozen holder's write was ${verdict}; the store holds "${store.value}"`;
}

console.log(await scenario(true));
console.log(await scenario(false));
