/**
 * The looks at the queue of one file engine's tickets: a waiter's (plain or
 * shared), which grants it, notes its place, skips a dead head or has a
 * lapsed waiter draw again; and a holder's, which finds a lost lease.
 *
 * @module
 */

import { presencePath, type ResourcePaths } from "./layout.ts";
import { readState, type StateRead } from "./state.ts";
import { recoverCounters } from "./queue.ts";
import { isLive, liveAhead } from "./presence.ts";
import { poll } from "./steps.ts";
import { sharedPoll } from "./shared_steps.ts";
import type { PollResult } from "../steps.ts";
import type { Watchers } from "./watchers.ts";
import { hasFollowers } from "./events.ts";
import type { FileTicket } from "./ticket.ts";

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

/** What the checks ask of their engine. */
export interface ChecksHost {
  /** Grants the turn, with the token a step issued, or issues one. */
  grant(ticket: FileTicket, fence?: bigint): void;
  /** Draws a number for the ticket. */
  draw(ticket: FileTicket): Promise<void>;
  /** Starts watching the ticket's own presence file (and queue). */
  watch(ticket: FileTicket): void;
}

/** Looks at the queue for a ticket, one look at a time per ticket. */
export class Checks {
  readonly #root: string;
  readonly #watchers: Watchers<FileTicket>;
  readonly #host: ChecksHost;

  /** Checks on the queues under `root`, aiming waiters with `watchers`. */
  constructor(root: string, watchers: Watchers<FileTicket>, host: ChecksHost) {
    this.#root = root;
    this.#watchers = watchers;
    this.#host = host;
  }

  /**
   * Looks at the queue for one ticket; one look at a time per ticket. An
   * impatient look (after an event) does not wait for the directory lock
   * to skip a head found gone: see #checkWaiter.
   */
  check(ticket: FileTicket, patient: boolean): void {
    if (patient) ticket.patient = true;
    if (ticket.busy) {
      ticket.recheck = true;
      return;
    }
    ticket.busy = true;
    const checking = this.#checkUntilSettled(ticket);
    ticket.checking = checking;
    checking.then(() => {
      if (ticket.checking === checking) ticket.checking = undefined;
    });
  }

  async #checkUntilSettled(ticket: FileTicket): Promise<void> {
    try {
      do {
        ticket.recheck = false;
        const patient = ticket.patient;
        ticket.patient = false;
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
    const presence = ticket.presence!;
    const state = readState(paths);
    const mine = presence.isMine();
    if (mine && granted(state, ticket.number) && !hasFollowers(this.#root)) {
      // Nobody moves the indicator past a live user: the turn is ours. The
      // look under the lock would only add the "started" message, which
      // has no audience.
      return this.#host.grant(ticket);
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
    const presence = ticket.presence!;
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
      setTimeout(() => this.check(ticket, true), BUSY_LOOK_AGAIN_MS);
      return;
    }
    if (result.verdict === "granted") this.#host.grant(ticket, result.fence);
    else if (result.verdict === "waiting") {
      ticket.seeIndicator(result.indicator);
    } else if (ticket.state === "waiting") {
      // Skipped or its presence removed: it draws again at the back.
      ticket.presence = undefined;
      try {
        await this.#host.draw(ticket);
      } catch (error) {
        return ticket.fail(error);
      }
      this.#host.watch(ticket);
      ticket.recheck = true;
      ticket.patient = true;
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
    if (ticket.lost) return;
    const paths = ticket.handle;
    const state = readState(paths);
    // A damaged or removed state file is rebuilt from the presence files by
    // the next step: the turn is the holder's if the rebuild says so.
    const indicator = state.kind === "ok"
      ? state.indicator
      : recoverCounters(paths)?.indicator;
    const mine = ticket.presence!.isMine();
    if (mine && ticket.spec.mode && granted(state, ticket.number)) return;
    if (mine && !ticket.spec.mode && indicator === ticket.number) return;
    ticket.lose("its presence file was removed or the indicator moved on");
  }
}
