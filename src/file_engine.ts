/**
 * The file-system side of the Locker, for programs on one host: queues are
 * directories under a root, presence is a locked file (freed by the OS the
 * moment its process dies), and waiters are woken by file-system events,
 * with a bounded poll as the fallback.
 *
 * @module
 */

import { resourceKeys } from "./protocol.ts";
import { Ticket, type TicketSpec } from "./ticket.ts";
import type { Lock, ReleaseOutcome } from "./lock.ts";
import { TurnError } from "./errors.ts";
import type { ResetResult, ResourceStatus } from "./types.ts";
import type { Engine, WaitLimits } from "./engine.ts";
import { Follow } from "./follow.ts";
import {
  departAll,
  Departures,
  takeTurn,
  type TicketSteps,
} from "./departures.ts";
import {
  FOLLOW_DIR,
  isTempName,
  numberOfPresenceName,
  parentDir,
  pathsOfDirName,
  presencePath,
  resourceOfDirName,
  type ResourcePaths,
  resourcePaths,
} from "./file_layout.ts";
import { readState, type StateRead } from "./file_state.ts";
import { recoverCounters } from "./file_queue.ts";
import { isLive, type Presence } from "./file_presence.ts";
import { draw, poll, release, reset, status } from "./file_steps.ts";
import { Watch } from "./file_watch.ts";
import { hasFollowers, inboxEvents } from "./file_events.ts";
import type { Outcome } from "./protocol.ts";
import { nextFence } from "./file_fence.ts";

/**
 * How soon a waiter that found the directory lock busy, with the head gone,
 * looks again: far sooner than the fallback poll, late enough for the step
 * under way to have finished.
 */
const BUSY_LOOK_AGAIN_MS = 20;

/**
 * What a ticket watches: its own presence file, that of the nearest live
 * user ahead while it waits, and its queue's directory if it reports its
 * place.
 */
interface Watching {
  own?: string;
  ahead?: string;
  queue?: string;
}

/** Whether `state` says it is the turn of number `n`. */
function granted(state: StateRead, n: number): boolean {
  return state.kind === "ok" && state.indicator === n;
}

/**
 * The nearest number below `n`, down to `head`, whose user is live, or
 * `undefined` if none is.
 */
function liveAhead(
  paths: ResourcePaths,
  head: number,
  n: number,
): number | undefined {
  for (let m = n - 1; m >= head; m--) {
    if (isLive(presencePath(paths, m))) return m;
  }
  return undefined;
}

/** The file-system implementation behind a Locker. */
export class FileEngine implements Engine {
  readonly #root: string;
  readonly #tickets = new Set<Ticket>();
  readonly #presences = new Map<Ticket, Presence>();
  readonly #checks = new Map<Ticket, Promise<void>>();
  /** Tickets whose next look waits for the directory lock if it must. */
  readonly #patient = new Set<Ticket>();
  /** The paths each ticket watches, by what they are to it. */
  readonly #watching = new Map<Ticket, Watching>();
  /** Tickets by the path they watch: a presence file, or a directory. */
  readonly #watched = new Map<string, Set<Ticket>>();
  readonly #watcher = new Watch((path) => this.#onChange(path));
  readonly #departures = new Departures();
  readonly #steps: TicketSteps = {
    departures: this.#departures,
    tickets: this.#tickets,
    closed: () => this.#closed,
    tryDraw: (ticket) => this.#tryDraw(ticket),
    enter: (ticket) => this.#enter(ticket),
    leave: (ticket, entered) => this.#abandon(ticket, entered),
    lockOf: (ticket) => this.#lockOf(ticket),
  };
  /** The latest draw per resource: draws from one Locker keep call order. */
  readonly #draws = new Map<string, Promise<unknown>>();
  readonly #closing = new AbortController();
  #closed = false;
  #closeOnce: Promise<void> | undefined;

  /** An engine keeping its queues in directories under `root`. */
  constructor(root: string) {
    this.#root = root;
  }

  #assertOpen(): void {
    if (this.#closed) throw new TurnError("the Locker is closed");
  }

  #paths(ticket: Ticket): ResourcePaths {
    return resourcePaths(this.#root, ticket.keys.resource);
  }

  // -------------------------------------------------------------------------
  // Taking a turn

  /** Waits for the turn on `resource`; `null` from `tryOnly` when busy. */
  async acquire(
    resource: string,
    spec: TicketSpec,
    limits: WaitLimits,
    tryOnly: boolean,
  ): Promise<Lock | null> {
    this.#assertOpen();
    limits.signal?.throwIfAborted();
    const ticket = new Ticket(resourceKeys(resource), spec);
    return await takeTurn(ticket, limits, tryOnly, this.#steps);
  }

  /**
   * Draws a number for `ticket`. The directory lock serves processes in no
   * particular order, so this Locker's draws on a resource queue up here:
   * calls made one after another get numbers in that order.
   */
  #drawInOrder(ticket: Ticket, tryOnly: boolean): ReturnType<typeof draw> {
    const resource = ticket.keys.resource;
    const previous = this.#draws.get(resource) ?? Promise.resolve();
    const drawing = previous.catch(() => {}).then(() =>
      draw(this.#paths(ticket), ticket.spec.label, tryOnly)
    );
    this.#draws.set(resource, drawing);
    const settled = () => {
      if (this.#draws.get(resource) === drawing) this.#draws.delete(resource);
    };
    drawing.then(settled, settled);
    return drawing;
  }

  async #tryDraw(ticket: Ticket): Promise<Lock | null> {
    const drawn = await this.#drawInOrder(ticket, true);
    if (drawn === undefined) return null;
    ticket.number = drawn.n;
    this.#presences.set(ticket, drawn.presence);
    this.#tickets.add(ticket);
    ticket.fence = drawn.fence ?? nextFence(this.#paths(ticket));
    ticket.grant(Date.now());
    this.#watch(ticket);
    return this.#lockOf(ticket);
  }

  /** Draws a number, then watches the queue until the turn comes. */
  async #enter(ticket: Ticket): Promise<void> {
    await this.#draw(ticket);
    if (ticket.state === "leaving") return;
    // Holders are watched too, for the loss of their lease.
    this.#watch(ticket);
    // The turn may have come before the watch was active.
    if (ticket.state === "waiting") this.#check(ticket, true);
  }

  /** Draws a number; the ticket remembers the draw so leaving can await it. */
  #draw(ticket: Ticket): Promise<void> {
    ticket.state = "drawing";
    const drawing = this.#drawOnce(ticket);
    ticket.drawing = drawing.catch(() => {});
    return drawing;
  }

  async #drawOnce(ticket: Ticket): Promise<void> {
    const drawn = (await this.#drawInOrder(ticket, false))!;
    ticket.number = drawn.n;
    this.#presences.set(ticket, drawn.presence);
    if (ticket.state === "leaving") return;
    if (drawn.granted) return this.#grant(ticket, drawn.fence);
    ticket.state = "waiting";
    ticket.seeIndicator(drawn.indicator);
  }

  /** Grants the turn, with the token its step issued, or issues one now. */
  #grant(ticket: Ticket, fence?: bigint): void {
    if (ticket.state !== "waiting" && ticket.state !== "drawing") return;
    ticket.fence = fence ?? nextFence(this.#paths(ticket));
    ticket.grant(Date.now());
    this.#aim(ticket, "ahead", undefined);
  }

  /**
   * Starts watching for `ticket`: its own presence file (for its loss), and
   * its queue's directory if it reports its place (`onQueue`), which
   * changes at every handoff. A waiter watches the user ahead too, once it
   * has looked.
   */
  #watch(ticket: Ticket): void {
    this.#aim(ticket, "own", this.#presences.get(ticket)!.path);
    if (ticket.spec.onQueue) {
      this.#aim(ticket, "queue", this.#paths(ticket).dir);
    }
  }

  #unwatch(ticket: Ticket): void {
    const watching = this.#watching.get(ticket);
    this.#watching.delete(ticket);
    for (const path of Object.values(watching ?? {})) {
      this.#unfollow(ticket, path);
    }
  }

  /** Has `ticket` watch `path` as its `what`, instead of the last one. */
  #aim(ticket: Ticket, what: keyof Watching, path: string | undefined): void {
    let watching = this.#watching.get(ticket);
    if (watching === undefined) this.#watching.set(ticket, watching = {});
    const before = watching[what];
    if (before === path) return;
    watching[what] = path;
    if (path !== undefined) this.#follow(ticket, path);
    if (before !== undefined) this.#unfollow(ticket, before);
  }

  #follow(ticket: Ticket, path: string): void {
    let tickets = this.#watched.get(path);
    if (tickets === undefined) {
      this.#watched.set(path, tickets = new Set());
      this.#watcher.add(path);
    }
    tickets.add(ticket);
  }

  #unfollow(ticket: Ticket, path: string): void {
    const tickets = this.#watched.get(path);
    if (!tickets?.delete(ticket) || tickets.size > 0) return;
    this.#watched.delete(path);
    this.#watcher.delete(path);
  }

  /**
   * Checks the tickets watching `path` or its directory, or all. A waiter
   * need hear only of the user ahead of it: when that one leaves or dies,
   * its presence file closes or goes. In a directory, a file being written,
   * or the presence of a user behind a ticket, cannot change what that
   * ticket finds: every step that matters to it ends with a change of the
   * state file or of a presence up to its own number.
   */
  #onChange(path: string | undefined): void {
    if (path === undefined) {
      for (const ticket of this.#watching.keys()) this.#check(ticket, true);
      return;
    }
    this.#watched.get(path)?.forEach((ticket) => this.#check(ticket, true));
    const dir = parentDir(path);
    const tickets = this.#watched.get(dir);
    if (tickets === undefined) return;
    const name = path.slice(dir.length + 1);
    if (isTempName(name)) return;
    const behind = numberOfPresenceName(name) ?? 0;
    for (const ticket of tickets) {
      if (behind <= ticket.number) this.#check(ticket, false);
    }
  }

  /**
   * Looks at the queue for one ticket; one look at a time per ticket. An
   * impatient look (after an event) does not wait for the directory lock
   * to skip a head found gone: see #checkWaiter.
   */
  #check(ticket: Ticket, patient: boolean): void {
    if (patient) this.#patient.add(ticket);
    if (ticket.busy) {
      ticket.recheck = true;
      return;
    }
    ticket.busy = true;
    const checking = this.#checkUntilSettled(ticket);
    this.#checks.set(ticket, checking);
    const done = () => {
      if (this.#checks.get(ticket) === checking) this.#checks.delete(ticket);
    };
    checking.then(done);
  }

  async #checkUntilSettled(ticket: Ticket): Promise<void> {
    try {
      do {
        ticket.recheck = false;
        const patient = this.#patient.delete(ticket);
        if (ticket.state === "waiting") {
          await this.#checkWaiter(ticket, patient);
        } else if (ticket.state === "held") this.#checkHolder(ticket);
      } while (ticket.recheck);
    } catch {
      // The file system failed us for now: the next event or poll asks again.
    } finally {
      ticket.busy = false;
    }
  }

  /**
   * A waiter reads the queue without the lock, and takes it (to be granted,
   * skip a dead head, or redraw) only when that reading calls for it.
   */
  async #checkWaiter(ticket: Ticket, patient: boolean): Promise<void> {
    const paths = this.#paths(ticket);
    const presence = this.#presences.get(ticket)!;
    const state = readState(paths);
    const mine = presence.isMine();
    if (mine && granted(state, ticket.number) && !hasFollowers(this.#root)) {
      // Nobody moves the indicator past a live user: the turn is ours. The
      // look under the lock would only add the "started" message, which
      // has no audience.
      return this.#grant(ticket);
    }
    let act = state.kind !== "ok" || state.indicator >= ticket.number ||
      !mine;
    let wait = true;
    if (!act && state.kind === "ok") {
      ticket.seeIndicator(state.indicator);
      act = this.#watchAhead(ticket, paths, state.indicator);
      // Woken by a change in the directory (onQueue), every waiter looks: a
      // head gone while a step runs is mostly one releasing, and every
      // waiter queueing for the lock behind it would delay the next one.
      // Whichever step runs ends with a new state (an event) if the head
      // is dead, except status; the poll's look waits for the lock.
      wait = patient;
    }
    if (!act) return;
    const result = await poll(paths, ticket.number, presence, wait);
    if (result === undefined) {
      // The step holding the lock ends with an event if the head is dead,
      // except a status read: look again soon, waiting for the lock then.
      setTimeout(() => this.#check(ticket, true), BUSY_LOOK_AGAIN_MS);
      return;
    }
    if (result.verdict === "granted") this.#grant(ticket, result.fence);
    else if (result.verdict === "waiting") {
      ticket.seeIndicator(result.indicator);
    } else if (ticket.state === "waiting") {
      // Skipped or its presence removed: it draws again at the back.
      this.#presences.delete(ticket);
      try {
        await this.#draw(ticket);
      } catch (error) {
        return ticket.fail(error);
      }
      this.#watch(ticket);
      ticket.recheck = true;
      this.#patient.add(ticket);
    }
  }

  /**
   * Has a waiter watch the nearest live user ahead of it, whose leaving or
   * death is what can bring its turn next. True if the head of the queue is
   * not live, so must be skipped.
   */
  #watchAhead(ticket: Ticket, paths: ResourcePaths, head: number): boolean {
    const ahead = liveAhead(paths, head, ticket.number);
    if (ahead === undefined) return true;
    this.#aim(ticket, "ahead", presencePath(paths, ahead));
    return ahead !== head && !isLive(presencePath(paths, head));
  }

  /** A holder's lease is lost when its presence file or the turn is gone. */
  #checkHolder(ticket: Ticket): void {
    if (ticket.leaseSignal.aborted) return;
    const paths = this.#paths(ticket);
    const state = readState(paths);
    // A damaged or removed state file is rebuilt from the presence files by
    // the next step: the turn is the holder's if the rebuild says so.
    const indicator = state.kind === "ok"
      ? state.indicator
      : recoverCounters(paths)?.indicator;
    const mine = this.#presences.get(ticket)!.isMine();
    if (mine && indicator === ticket.number) return;
    ticket.lose("its presence file was removed or the indicator moved on");
  }

  /** Leaves the queue after a failed wait; returns the live users ahead. */
  async #abandon(ticket: Ticket, entered: Promise<void>): Promise<number> {
    ticket.state = "leaving";
    await entered.catch(() => {});
    await ticket.drawing;
    await this.#checks.get(ticket);
    // A redraw may have started during the check; its number is the one to leave.
    await ticket.drawing;
    this.#unwatch(ticket);
    this.#patient.delete(ticket);
    this.#tickets.delete(ticket);
    if (!this.#presences.has(ticket)) return 0;
    try {
      return (await this.#finish(ticket, "left")).ahead;
    } catch {
      return Math.max(0, ticket.ahead);
    }
  }

  #finish(ticket: Ticket, outcome: Outcome): ReturnType<typeof release> {
    ticket.state = "gone";
    const presence = this.#presences.get(ticket)!;
    this.#presences.delete(ticket);
    const { number, spec } = ticket;
    return release(this.#paths(ticket), number, spec.label, outcome, presence);
  }

  #lockOf(ticket: Ticket): Lock {
    return ticket.lock(
      (outcome) => this.#release(ticket, outcome),
      undefined,
      {
        presenceFile: this.#presences.get(ticket)!.path,
        fence: ticket.fence,
      },
    );
  }

  async #release(ticket: Ticket, outcome: ReleaseOutcome): Promise<void> {
    // close() may have released it already.
    if (ticket.state === "gone") return;
    this.#tickets.delete(ticket);
    this.#unwatch(ticket);
    this.#patient.delete(ticket);
    await this.#departures.track(this.#finish(ticket, outcome));
  }

  // -------------------------------------------------------------------------
  // Reading and resetting queues

  /** Names of every resource with a queue under the root, sorted. */
  async resources(): Promise<string[]> {
    this.#assertOpen();
    const found = new Set<string>();
    try {
      for await (const entry of Deno.readDir(this.#root)) {
        if (!entry.isDirectory || entry.name === FOLLOW_DIR) continue;
        const named = resourceOfDirName(entry.name);
        const state = readState(
          pathsOfDirName(this.#root, entry.name, named ?? ""),
        );
        if (state.kind === "ok") found.add(state.resource);
        else if (state.kind === "corrupt" && named !== undefined) {
          found.add(named);
        }
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return [...found].sort();
  }

  /** The queues of `resources` that exist, in the order given. */
  async status(resources: readonly string[]): Promise<ResourceStatus[]> {
    this.#assertOpen();
    const found: ResourceStatus[] = [];
    for (const resource of resources) {
      const queue = await status(resourcePaths(this.#root, resource));
      if (queue !== undefined) found.push(queue);
    }
    return found;
  }

  /** turn 1.0's reset, per resource. */
  async reset(
    resources: readonly string[],
    forget: boolean,
  ): Promise<ResetResult[]> {
    this.#assertOpen();
    const results: ResetResult[] = [];
    for (const resource of resources) {
      results.push(await reset(resourcePaths(this.#root, resource), forget));
    }
    return results;
  }

  /** Events of `resources`, or of every resource when `undefined`. */
  follow(
    resources: readonly string[] | undefined,
    signal?: AbortSignal,
  ): Follow {
    this.#assertOpen();
    return new Follow(inboxEvents(this.#root, resources), [
      signal,
      this.#closing.signal,
    ]);
  }

  // -------------------------------------------------------------------------
  // Closing

  /** Releases held turns, leaves queues, stops watching. */
  close(): Promise<void> {
    return this.#closeOnce ??= this.#close();
  }

  async #close(): Promise<void> {
    // From here on, new calls are refused; work under way may finish.
    this.#closed = true;
    await departAll(
      this.#tickets,
      (ticket) => this.#release(ticket, "completed"),
      this.#departures,
    );
    this.#closing.abort();
    this.#watcher[Symbol.dispose]();
    this.#watched.clear();
  }
}
