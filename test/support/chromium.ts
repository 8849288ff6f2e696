/**
 * Headless Chromium for tests, driven over its DevTools protocol with
 * Deno's own WebSocket: Debian's `chromium` binary, nothing downloaded.
 * Starting it fails loudly when it is missing or cannot run.
 *
 * @module
 */

const START_TIMEOUT_MS = 30_000;
const CALL_TIMEOUT_MS = 30_000;
const LISTENING = /DevTools listening on (ws:\/\/\S+)/;

/** Where the browser is: `CHROMIUM`, else Debian's path. */
export const CHROMIUM_PATH: string = Deno.env.get("CHROMIUM") ??
  "/usr/bin/chromium";

type Params = Record<string, unknown>;

/** A protocol event from the page. */
export interface PageEvent {
  readonly method: string;
  readonly params: Params;
}

/** One tab, attached with a flat session. */
export class Page {
  readonly #browser: Browser;
  readonly #session: string;
  /** Every event the page sent, oldest first. */
  readonly events: PageEvent[] = [];

  constructor(browser: Browser, session: string) {
    this.#browser = browser;
    this.#session = session;
  }

  /** Sends a protocol command to this page. */
  send(method: string, params: Params = {}): Promise<Params> {
    return this.#browser.send(method, params, this.#session);
  }

  /** Evaluates `expression` in the page and returns its value. */
  async evaluate<T>(expression: string): Promise<T> {
    const reply = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    if (reply.exceptionDetails) {
      throw new Error(
        `page threw: ${JSON.stringify(reply.exceptionDetails)}`,
      );
    }
    return (reply.result as { value: T }).value;
  }

  /** Waits, at most `ms`, until `expression` is truthy in the page. */
  async waitFor(expression: string, what: string, ms = 30_000): Promise<void> {
    const until = Date.now() + ms;
    while (!(await this.evaluate<boolean>(`Boolean(${expression})`))) {
      if (Date.now() > until) {
        const text = await this.evaluate<string>(
          "document.body ? document.body.innerText : ''",
        );
        throw new Error(
          `${what}: not within ${ms} ms; the page says:\n${text}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Waits, at most `ms`, for an event named `method` after the first `from`. */
  async nextEvent(
    method: string,
    from: number,
    ms = 30_000,
  ): Promise<PageEvent> {
    const until = Date.now() + ms;
    for (;;) {
      const found = this.events.slice(from).find((e) => e.method === method);
      if (found) return found;
      if (Date.now() > until) throw new Error(`no ${method} within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A PNG of the viewport (or the whole page with `full`). */
  async screenshot(full = false): Promise<Uint8Array> {
    const { data } = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: full,
    });
    return Uint8Array.from(atob(data as string), (c) => c.charCodeAt(0));
  }

  /** @internal */
  take(event: PageEvent): void {
    this.events.push(event);
  }
}

/** A running headless Chromium; dispose to stop it. */
export class Browser implements AsyncDisposable {
  readonly #process: Deno.ChildProcess;
  readonly #socket: WebSocket;
  readonly #profile: string;
  readonly #calls = new Map<
    number,
    { resolve: (v: Params) => void; reject: (e: Error) => void }
  >();
  readonly #pages = new Map<string, Page>();
  #next = 1;

  private constructor(
    process: Deno.ChildProcess,
    socket: WebSocket,
    profile: string,
  ) {
    this.#process = process;
    this.#socket = socket;
    this.#profile = profile;
    socket.onmessage = (message) => this.#receive(JSON.parse(message.data));
  }

  /** Starts Chromium headless; throws, saying why, if it cannot. */
  static async launch(): Promise<Browser> {
    const profile = await Deno.makeTempDir({ prefix: "turn-chromium-" });
    let process: Deno.ChildProcess;
    try {
      process = new Deno.Command(CHROMIUM_PATH, {
        args: [
          "--headless=new",
          // Root in a container has no user namespace for the sandbox.
          "--no-sandbox",
          "--disable-gpu",
          "--disable-dev-shm-usage",
          "--no-first-run",
          "--no-default-browser-check",
          "--remote-debugging-port=0",
          `--user-data-dir=${profile}`,
          "about:blank",
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      await Deno.remove(profile, { recursive: true });
      throw new Error(
        `cannot start Chromium at ${CHROMIUM_PATH} (install Debian's chromium package; .ci/run does): ${error}`,
      );
    }
    const url = await devToolsUrl(process.stderr);
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error(`cannot reach ${url}`));
    });
    return new Browser(process, socket, profile);
  }

  /** Opens a tab at `about:blank`, with page and runtime events on. */
  async newPage(width = 1280, height = 900): Promise<Page> {
    const { targetId } = await this.send("Target.createTarget", {
      url: "about:blank",
    });
    const { sessionId } = await this.send("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    const page = new Page(this, sessionId as string);
    this.#pages.set(sessionId as string, page);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    await page.send("Log.enable");
    await page.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
    return page;
  }

  /** Sends a protocol command, to a page's session if given. */
  send(
    method: string,
    params: Params = {},
    sessionId?: string,
  ): Promise<Params> {
    const id = this.#next++;
    this.#socket.send(JSON.stringify({ id, method, params, sessionId }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#calls.delete(id);
        reject(new Error(`${method}: no reply within ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      this.#calls.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  #receive(message: {
    id?: number;
    result?: Params;
    error?: { message: string };
    method?: string;
    params?: Params;
    sessionId?: string;
  }): void {
    if (message.id !== undefined) {
      const call = this.#calls.get(message.id);
      this.#calls.delete(message.id);
      if (message.error) call?.reject(new Error(message.error.message));
      else call?.resolve(message.result ?? {});
      return;
    }
    if (message.method && message.sessionId) {
      this.#pages.get(message.sessionId)?.take({
        method: message.method,
        params: message.params ?? {},
      });
    }
  }

  /** Closes the browser and removes its profile. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.send("Browser.close");
    } catch { /* it is going anyway */ }
    this.#socket.close();
    try {
      this.#process.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.#process.status;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

/** Reads Chromium's stderr until it names its DevTools address. */
async function devToolsUrl(
  stderr: ReadableStream<Uint8Array>,
): Promise<string> {
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `Chromium did not start within ${START_TIMEOUT_MS} ms:\n${seen}`,
          ),
        ),
      START_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([
      (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`Chromium exited at start:\n${seen}`);
          seen += value;
          const found = LISTENING.exec(seen);
          if (found) return found[1];
        }
      })(),
      late,
    ]);
  } finally {
    clearTimeout(timer);
    // Keep draining, so a chatty browser never blocks on a full pipe.
    (async () => {
      try {
        while (!(await reader.read()).done) { /* discard */ }
      } catch { /* closed */ }
    })();
  }
}
