/**
 * The file-system side of the Locker, for programs on one host: queues are
 * directories under a root, presence is a locked file (freed by the OS the
 * moment its process dies), and waiters are woken by file-system events,
 * with a bounded poll as the fallback.
 *
 * @module
 */

import type { TicketSpec } from "../ticket.ts";
import type { Lock } from "../lock.ts";
import type { ResetResult, ResourceStatus } from "../types.ts";
import { Follow } from "../follow.ts";
import { TurnEngine } from "../core.ts";
import type { ReleaseResult } from "../steps.ts";
import { resourcePaths } from "./layout.ts";
import { resourcesUnder } from "./queues.ts";
import { draw, type FileDrawn, release, reset, status } from "./steps.ts";
import { sharedDraw, sharedRelease } from "./shared_steps.ts";
import { Watchers } from "./watchers.ts";
import { inboxEvents } from "./events.ts";
import type { Outcome } from "../messages.ts";
import { nextFence } from "./fence.ts";
import { FileTicket } from "./ticket.ts";
import { Checks } from "./checks.ts";

/** The file-system implementation behind a Locker. */
export class FileEngine extends TurnEngine<FileTicket> {
  readonly #root: string;
  readonly #watchers: Watchers<FileTicket>;
  readonly #checks: Checks;
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
      (ticket, patient) => this.#checks.check(ticket, patient),
      pollMs,
    );
    this.#checks = new Checks(root, this.#watchers, {
      grant: (ticket, fence) => this.#grant(ticket, fence),
      draw: (ticket) => this.#draw(ticket),
      watch: (ticket) => this.#watch(ticket),
    });
  }

  // -------------------------------------------------------------------------
  // Taking a turn

  protected ticketFor(resource: string, spec: TicketSpec): FileTicket {
    return new FileTicket(resource, resourcePaths(this.#root, resource), spec);
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
    ticket.presence = drawn.presence;
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
    if (ticket.state === "waiting") this.#checks.check(ticket, true);
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
    ticket.presence = drawn.presence;
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
    this.#watchers.aim(ticket, "own", ticket.presence!.path);
    // A shared waiter's turn may come when any holder ahead leaves, which
    // rewrites the state file.
    if (ticket.spec.onQueue || ticket.spec.mode) {
      this.#watchers.aim(ticket, "queue", ticket.handle.dir);
    }
  }

  protected unwatch(ticket: FileTicket): void {
    ticket.patient = false;
    this.#watchers.drop(ticket);
  }

  /** A redraw may start during a look; leaving waits for both. */
  protected override async looksDone(ticket: FileTicket): Promise<void> {
    await ticket.checking;
    await ticket.drawing;
  }

  protected hasPlace(ticket: FileTicket): boolean {
    return ticket.presence !== undefined;
  }

  protected leave(
    ticket: FileTicket,
    outcome: Outcome,
  ): Promise<ReleaseResult> {
    ticket.state = "gone";
    const presence = ticket.presence!;
    ticket.presence = undefined;
    const { handle, number, spec } = ticket;
    const leave = spec.mode ? sharedRelease : release;
    return leave(handle, number, spec.label, outcome, presence);
  }

  protected lockOf(ticket: FileTicket): Lock {
    return ticket.lock(
      (outcome) => this.leaveHeld(ticket, outcome),
      undefined,
      {
        presenceFile: ticket.presence!.path,
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
