/**
 * The dashboard in a real browser (Debian's Chromium, headless) while real
 * `turn lock` processes take turns on a real redis-server: it shows the
 * holder and the waiters in ticket order, shows the next holder after the
 * holder is SIGKILLed, shows hostile labels and names as text with no script
 * run, and fits a phone's width in dark mode. Screenshots go to test/output/.
 */

import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { Browser, type Page } from "../support/chromium.ts";
import { CLI_PERMISSIONS, spawnCli } from "../support/cli.ts";
import { freePort, startRedis } from "../../support/redis_server.ts";
import { untilQueued } from "../support/helpers.ts";
import { Locker } from "../../mod.ts";

const OUTPUT = new URL("../output/", import.meta.url);
const XSS_LABEL = "<img src=x onerror=alert(1)>";
const XSS_RESOURCE = '"><svg onload=alert(2)>';

/** What the page shows for `resource`: the holder's label and the waiters'. */
function shown(page: Page, resource: string): Promise<unknown> {
  return page.evaluate(`(() => {
    const card = [...document.querySelectorAll(".res")]
      .find((c) => c.dataset.resource === ${JSON.stringify(resource)});
    if (!card) return null;
    return {
      holder: card.querySelector(".holder .label")?.textContent ?? null,
      waiters: [...card.querySelectorAll(".waiter .label")].map((e) => e.textContent),
    };
  })()`);
}

async function untilShown(
  page: Page,
  resource: string,
  wanted: { holder: string | null; waiters: string[] },
): Promise<void> {
  const expected = JSON.stringify(wanted);
  const until = Date.now() + 30_000;
  let last: unknown;
  while (JSON.stringify(last = await shown(page, resource)) !== expected) {
    if (Date.now() > until) {
      throw new Error(
        `the page never showed ${expected} for ${resource}; last ${
          JSON.stringify(last)
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function save(name: string, png: Uint8Array): Promise<void> {
  await Deno.mkdir(OUTPUT, { recursive: true });
  await Deno.writeFile(new URL(name, OUTPUT), png);
}

Deno.test({
  name:
    "browser: holder and waiters in order, the next holder after a SIGKILL, hostile text stays text",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using server = await startRedis();
    const url = server.url;
    const port = freePort();
    await using dashboard = spawnCli(
      ["dashboard", "--url", url, "--port", String(port)],
      { permissions: CLI_PERMISSIONS },
    );
    await dashboard.stdoutHas(`http://127.0.0.1:${port}/`);

    await using locker = new Locker({ url });
    const lock = (label: string, expire = "60s") =>
      spawnCli([
        "lock",
        "--url",
        url,
        "--label",
        label,
        "--expire",
        expire,
        "printer",
      ]);
    // The holder renews every third of 2 s: once killed, it lapses fast.
    await using holder = lock("holder A", "2s");
    await holder.stdoutHas("printer: locked");
    await using second = lock("waiter B");
    await untilQueued(locker, "printer", 2);
    await using third = lock(XSS_LABEL);
    await untilQueued(locker, "printer", 3);
    // More queues, as a real deployment has, one with a hostile name.
    await using others = new Locker({ url });
    await others.withLock("ledger", () => {}, { label: "nightly close" });
    const ledger = await others.lock("ledger", { label: "invoice run" });
    const ledgerWaiter = others.lock("ledger", { label: "audit export" });
    ledgerWaiter.catch(() => {});
    const hostile = await others.lock(XSS_RESOURCE, { label: "name test" });

    await using browser = await Browser.launch();
    const page = await browser.newPage(1280, 900);
    await page.send("Page.navigate", { url: `http://127.0.0.1:${port}/` });
    await page.waitFor(
      "document.getElementById('conn')?.textContent === 'live'",
      "the page to connect",
    );
    await untilShown(page, "printer", {
      holder: "holder A",
      waiters: ["waiter B", XSS_LABEL],
    });
    await untilShown(page, XSS_RESOURCE, { holder: "name test", waiters: [] });

    // Names and labels are text: no element was made of them, nothing ran.
    strictEqual(
      await page.evaluate(
        "document.querySelectorAll('main img, main svg:not(.chart svg)').length",
      ),
      0,
    );
    strictEqual(
      await page.evaluate(
        `[...document.querySelectorAll(".res-name")].some((e) => e.textContent === ${
          JSON.stringify(XSS_RESOURCE)
        })`,
      ),
      true,
    );
    deepStrictEqual(
      page.events.filter((e) =>
        e.method === "Page.javascriptDialogOpening" ||
        e.method === "Runtime.exceptionThrown"
      ),
      [],
    );
    await save("dashboard.png", await page.screenshot());

    holder.kill("SIGKILL");
    await untilShown(page, "printer", {
      holder: "waiter B",
      waiters: [XSS_LABEL],
    });
    await save("dashboard-after-kill.png", await page.screenshot());

    // A phone, in dark mode: nothing wider than the screen.
    await page.send("Emulation.setEmulatedMedia", {
      features: [{ name: "prefers-color-scheme", value: "dark" }],
    });
    await page.send("Emulation.setDeviceMetricsOverride", {
      width: 390,
      height: 844,
      deviceScaleFactor: 2,
      mobile: true,
    });
    await page.waitFor(
      "document.documentElement.scrollWidth <= window.innerWidth",
      "the page to fit a phone's width",
    );
    strictEqual(
      await page.evaluate(
        "getComputedStyle(document.body).backgroundColor",
      ),
      "rgb(15, 18, 22)",
      "dark mode's background",
    );
    await save("dashboard-phone-dark.png", await page.screenshot());
    deepStrictEqual(
      page.events.filter((e) => e.method === "Page.javascriptDialogOpening"),
      [],
    );

    await ledger.release();
    await (await ledgerWaiter).release();
    await hostile.release();
    for (const cli of [second, third]) cli.kill("SIGINT");
    dashboard.kill("SIGTERM");
    strictEqual((await dashboard.result()).code, 0);
  },
});

Deno.test({
  name:
    "browser: reset buttons only with --allow-reset; a reset asks first and clears a dead queue",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using server = await startRedis();
    const url = server.url;
    await using locker = new Locker({ url });
    // A holder killed with nobody waiting leaves a queue with a dead head.
    await using holder = spawnCli([
      "lock",
      "--url",
      url,
      "--label",
      "crashed job",
      "--expire",
      "1s",
      "vault",
    ]);
    await holder.stdoutHas("vault: locked");
    holder.kill("SIGKILL");
    await using browser = await Browser.launch();

    const readOnlyPort = freePort();
    await using readOnly = spawnCli(
      ["dashboard", "--url", url, "--port", String(readOnlyPort)],
    );
    await readOnly.stdoutHas("(read-only;");
    const page = await browser.newPage(1024, 768);
    await page.send("Page.navigate", {
      url: `http://127.0.0.1:${readOnlyPort}/`,
    });
    await page.waitFor(
      "[...document.querySelectorAll('.dead')].some((e) => e.textContent.includes('skipped when someone next joins or on reset'))",
      "the dead head to be flagged",
    );
    strictEqual(
      await page.evaluate("document.querySelectorAll('button.reset').length"),
      0,
    );

    const port = freePort();
    await using dashboard = spawnCli(
      ["dashboard", "--url", url, "--port", String(port), "--allow-reset"],
    );
    await dashboard.stdoutHas("(reset enabled;");
    await page.send("Page.navigate", { url: `http://127.0.0.1:${port}/` });
    await page.waitFor(
      "document.querySelectorAll('button.reset').length === 1",
      "a reset button",
    );
    const click = async (accept: boolean) => {
      const from = page.events.length;
      const clicked = page.evaluate(
        "document.querySelector('button.reset').click()",
      );
      const dialog = await page.nextEvent("Page.javascriptDialogOpening", from);
      strictEqual(dialog.params.type, "confirm");
      await page.send("Page.handleJavaScriptDialog", { accept });
      await clicked;
    };
    await click(false);
    deepStrictEqual(
      (await locker.status(["vault"])).map((s) => s.resource),
      ["vault"],
      "cancelled: nothing reset",
    );
    await click(true);
    await page.waitFor(
      "document.getElementById('notice').textContent === '\"vault\" was reset.'",
      "the reset to be reported",
    );
    deepStrictEqual(await locker.status(["vault"]), []);
    await page.waitFor(
      "!document.querySelector('.res')",
      "the queue to leave the page",
    );
    for (const cli of [readOnly, dashboard]) {
      cli.kill("SIGTERM");
      strictEqual((await cli.result()).code, 0);
    }
  },
});
