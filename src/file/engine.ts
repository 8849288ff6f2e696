/**
 * The file-system side of the Locker, for programs on one host: queues are
 * directories under a root, presence is a locked file (freed by the OS the
 * moment its process dies), and waiters are woken by file-system events,
 * with a bounded poll as the fallback.
 *
 * @module
 */

import { Ticket, type TicketSpec } from "../ticket.ts";
import type { Lock } from "../lock.ts";
import type { ResetResult, ResourceStatus } from "../types.ts";
import { Follow } from "../follow.ts";
import { TurnEngine } from "../core.ts";
import type { ReleaseResult } from "../steps.ts";
import { presencePath, type ResourcePaths, resourcePaths } from "./layout.ts";
import { readState, type StateRead } from "./state.ts";
import { recoverCounters } from "./queue.ts";
import { isLive, liveAhead, type Presence } from "./presence.ts";
import { resourcesUnder } from "./queues.ts";
import { draw, type FileDrawn, poll, release, reset, status } from "./steps.ts";
import { sharedDraw, sharedPoll, sharedRelease } from "./shared_steps.ts";
import type { PollResult } from "../steps.ts";
import { Watchers } from "./watchers.ts";
import { hasFollowers, inboxEvents } from "./events.ts";
import type { Outcome } from "../messages.ts";
import { nextFence } from "./fence.ts";

/**
 * How soon a waiter that found the directory lock busy, with the head gone,
 * looks again: far sooner than the fallback poll, late enough for the step
 * under way to have finished.
 */
const BUSY_LOOK_AGAIN_MS = 20;

/** Whether `state` says it is the turn of number `n`. */
function granted(state: StateRead, n: number): boolean {
  if (state.kind !== "ok") return false;
  return state.places ? n <= state.places.granted : state.indicator === n;
}

/** A place in a queue kept in files: its handle is the resource's paths. */
type FileTicket = Ticket<ResourcePaths>;

/** The file-system implementation behind a Locker. */
export class FileEngine extends TurnEngine<FileTicket> {
  readonly #root: string;
  readonly #presences = new Map<FileTicket, Presence>();
  readonly #checks = new Map<FileTicket, Promise<void>>();
  /** Tickets whose next look waits for the directory lock if it must. */
  readonly #patient = new Set<FileTicket>();
  readonly #watchers: Watchers<FileTicket>;
  /** The latest draw per resource: draws from one Locker keep call order. */
  readonly #draws = new Map<string, Promise<unknown>>();
  readonly #closing = new AbortController();

  /**
   * An engine keeping its queues in directories under `root`. `pollMs`
   * (a test seam) is how often its watch looks without events.
   */
  constructor(root: string, pollMs?: number) {
    super();
    this.#root = root;
    this.#watchers = new Watchers(
      (ticket, patient) => this.#check(ticket, patient),
      pollMs,
    );
  }

  // -------------------------------------------------------------------------
  // Taking a turn

  protected ticketFor(resource: string, spec: TicketSpec): FileTicket {
    return new Ticket(resource, resourcePaths(this.#root, resource), spec);
  }

  protected prepareWait(): Promise<void> {
    return Promise.resolve();
  }

  protected prepareTry(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Draws a number for `ticket`. The directory lock serves processes in no
   * particular order, so this Locker's draws on a resource queue up here:
   * calls made one after another get numbers in that order.
   */
  #drawInOrder(
    ticket: FileTicket,
    tryOnly: boolean,
  ): Promise<FileDrawn | undefined> {
    const { resource } = ticket;
    const previous = this.#draws.get(resource) ?? Promise.resolve();
    const { label, mode } = ticket.spec;
    const drawing = previous.catch(() => {}).then(() =>
      mode
        ? sharedDraw(ticket.handle, label, mode, tryOnly)
        : draw(ticket.handle, label, tryOnly)
    );
    this.#draws.set(resource, drawing);
    const settled = () => {
      if (this.#draws.get(resource) === drawing) this.#draws.delete(resource);
    };
    drawing.then(settled, settled);
    return drawing;
  }

  protected async tryDraw(ticket: FileTicket): Promise<boolean> {
    const drawn = await this.#drawInOrder(ticket, true);
    if (drawn === undefined) return false;
    ticket.number = drawn.n;
    this.#presences.set(ticket, drawn.presence);
    this.#grant(ticket, drawn.fence);
    this.#watch(ticket);
    return true;
  }

  /** Draws a number, then watches the queue until the turn comes. */
  protected async enter(ticket: FileTicket): Promise<void> {
    await this.#draw(ticket);
    if (ticket.state === "leaving") return;
    // Holders are watched too, for the loss of their lease.
    this.#watch(ticket);
    // The turn may have come before the watch was active.
    if (ticket.state === "waiting") this.#check(ticket, true);
  }

  /** Draws a number; the ticket remembers the draw so leaving can await it. */
  #draw(ticket: FileTicket): Promise<void> {
    ticket.state = "drawing";
    const drawing = this.#drawOnce(ticket);
    ticket.drawing = drawing.catch(() => {});
    return drawing;
  }

  async #drawOnce(ticket: FileTicket): Promise<void> {
    const drawn = (await this.#drawInOrder(ticket, false))!;
    ticket.number = drawn.n;
    this.#presences.set(ticket, drawn.presence);
    if (ticket.state === "leaving") return;
    if (drawn.granted) return this.#grant(ticket, drawn.fence);
    ticket.state = "waiting";
    ticket.seeIndicator(drawn.indicator);
  }

  /** Grants the turn, with the token its step issued, or issues one now. */
  #grant(ticket: FileTicket, fence?: bigint): void {
    this.grant(ticket, () => fence ?? nextFence(ticket.handle));
  }

  /** A holder no longer watches the user ahead. */
  protected granting(ticket: FileTicket): void {
    this.#watchers.aim(ticket, "ahead", undefined);
  }

  /**
   * Starts watching for `ticket`: its own presence file (for its loss), and
   * its queue's directory if it reports its place (`onQueue`), which
   * changes at every handoff. A waiter watches the user ahead too, once it
   * has looked.
   */
  #watch(ticket: FileTicket): void {
    this.#watchers.aim(ticket, "own", this.#presences.get(ticket)!.path);
    // A shared waiter's turn may come when any holder ahead leaves, which
    // rewrites the state file.
    if (ticket.spec.onQueue || ticket.spec.mode) {
      this.#watchers.aim(ticket, "queue", ticket.handle.dir);
    }
  }

  protected unwatch(ticket: FileTicket): void {
    this.#patient.delete(ticket);
    this.#watchers.drop(ticket);
  }

  /**
   * Looks at the queue for one ticket; one look at a time per ticket. An
   * impatient look (after an event) does not wait for the directory lock
   * to skip a head found gone: see #checkWaiter.
   */
  #check(ticket: FileTicket, patient: boolean): void {
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

  async #checkUntilSettled(ticket: FileTicket): Promise<void> {
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
  async #checkWaiter(ticket: FileTicket, patient: boolean): Promise<void> {
    const paths = ticket.handle;
    const presence = this.#presences.get(ticket)!;
    const state = readState(paths);
    const mine = presence.isMine();
    if (mine && granted(state, ticket.number) && !hasFollowers(this.#root)) {
      // Nobody moves the indicator past a live user: the turn is ours. The
      // look under the lock would only add the "started" message, which
      // has no audience.
      return this.#grant(ticket);
    }
    if (ticket.spec.mode) return await this.#checkShared(ticket, patient);
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
    await this.#look(ticket, await poll(paths, ticket.number, presence, wait));
  }

  /**
   * A shared waiter not granted by the state file looks under the lock
   * when a user ahead may have died (an event on the file it watches, or
   * the fallback poll); a rewritten state file alone only updates its place.
   */
  async #checkShared(ticket: FileTicket, patient: boolean): Promise<void> {
    const paths = ticket.handle;
    const state = readState(paths);
    const presence = this.#presences.get(ticket)!;
    if (state.kind === "ok" && state.places) {
      const ahead = liveAhead(paths, state.indicator, ticket.number);
      if (ahead !== undefined) {
        this.#watchers.aim(ticket, "ahead", presencePath(paths, ahead));
      }
      const waits = !granted(state, ticket.number) && presence.isMine();
      if (!patient && waits) return;
    }
    await this.#look(
      ticket,
      await sharedPoll(paths, ticket.number, presence, true),
    );
  }

  /** Acts on a look under the lock: grants, notes the place, or redraws. */
  async #look(
    ticket: FileTicket,
    result: PollResult | undefined,
  ): Promise<void> {
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
  #watchAhead(ticket: FileTicket, paths: ResourcePaths, head: number): boolean {
    const ahead = liveAhead(paths, head, ticket.number);
    if (ahead === undefined) return true;
    this.#watchers.aim(ticket, "ahead", presencePath(paths, ahead));
    return ahead !== head && !isLive(presencePath(paths, head));
  }

  /** A holder's lease is lost when its presence file or the turn is gone. */
  #checkHolder(ticket: FileTicket): void {
    if (ticket.leaseSignal.aborted) return;
    const paths = ticket.handle;
    const state = readState(paths);
    // A damaged or removed state file is rebuilt from the presence files by
    // the next step: the turn is the holder's if the rebuild says so.
    const indicator = state.kind === "ok"
      ? state.indicator
      : recoverCounters(paths)?.indicator;
    const mine = this.#presences.get(ticket)!.isMine();
    if (mine && ticket.spec.mode && granted(state, ticket.number)) return;
    if (mine && !ticket.spec.mode && indicator === ticket.number) return;
    ticket.lose("its presence file was removed or the indicator moved on");
  }

  /** A redraw may start during a look; leaving waits for both. */
  protected override async looksDone(ticket: FileTicket): Promise<void> {
    await this.#checks.get(ticket);
    await ticket.drawing;
  }

  protected hasPlace(ticket: FileTicket): boolean {
    return this.#presences.has(ticket);
  }

  protected leave(
    ticket: FileTicket,
    outcome: Outcome,
  ): Promise<ReleaseResult> {
    ticket.state = "gone";
    const presence = this.#presences.get(ticket)!;
    this.#presences.delete(ticket);
    const { handle, number, spec } = ticket;
    const leave = spec.mode ? sharedRelease : release;
    return leave(handle, number, spec.label, outcome, presence);
  }

  protected lockOf(ticket: FileTicket): Lock {
    return ticket.lock(
      (outcome) => this.leaveHeld(ticket, outcome),
      undefined,
      {
        presenceFile: this.#presences.get(ticket)!.path,
        fence: ticket.fence,
      },
    );
  }

  // -------------------------------------------------------------------------
  // Reading and resetting queues

  /** Names of every resource with a queue under the root, sorted. */
  protected async listResources(): Promise<string[]> {
    return await resourcesUnder(this.#root);
  }

  protected async readQueues(
    resources: readonly string[],
  ): Promise<ResourceStatus[]> {
    const found: ResourceStatus[] = [];
    for (const resource of resources) {
      const queue = await status(resourcePaths(this.#root, resource));
      if (queue !== undefined) found.push(queue);
    }
    return found;
  }

  protected resetQueue(
    resource: string,
    forget: boolean,
  ): Promise<ResetResult> {
    return reset(resourcePaths(this.#root, resource), forget);
  }

  protected followQueues(
    resources: readonly string[] | undefined,
    signal?: AbortSignal,
  ): Follow {
    return new Follow(inboxEvents(this.#root, resources), [
      signal,
      this.#closing.signal,
    ]);
  }

  /** Ends follows and stops watching, once every user has left. */
  protected shutDown(): Promise<void> {
    this.#closing.abort();
    this.#watchers[Symbol.dispose]();
    return Promise.resolve();
  }
}
