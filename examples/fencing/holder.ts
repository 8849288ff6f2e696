// The holder that freezes: it takes the turn, checks its lease, says so, and
// writes a moment later, which is when its parent stops it (SIGSTOP) for
// longer than `expire`. Usage: holder.ts <store url> <resource> <expire ms>
import { Locker } from "../../mod.ts";

const [storeUrl, resource, expire] = Deno.args;
await using locker = new Locker();
const lock = await locker.lock(resource, {
  label: "frozen holder",
  expire: Number(expire),
});
// The lease is fine here; the write below comes after the freeze.
if (lock.signal.aborted) Deno.exit(1);
console.log("checked");
await new Promise((resolve) => setTimeout(resolve, 500));
const response = await fetch(`${storeUrl}?fence=${lock.fence}`, {
  method: "POST",
  body: "stale",
});
console.log(response.status === 204 ? "accepted" : "refused");
await lock.release();
