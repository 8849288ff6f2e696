/**
 * A ticket in files: besides its place, its presence file, the look at the
 * queue under way for it, and whether its next look may wait for the
 * directory lock.
 *
 * @module
 */

import { Ticket } from "../ticket.ts";
import type { ResourcePaths } from "./layout.ts";
import type { Presence } from "./presence.ts";

/** A user's place in a queue kept in files: its handle is the resource's paths. */
export class FileTicket extends Ticket<ResourcePaths> {
  /**
   * Its presence file in the queue, from its draw until it leaves; absent
   * before the first draw answers and while a lapsed ticket draws again.
   */
  presence: Presence | undefined;
  /** The look at the queue under way for it, which leaving waits for. */
  checking: Promise<void> | undefined;
  /**
   * Its next look waits for the directory lock if it must: asked by the
   * poll, a change to a presence file it watches, and a redraw; not by a
   * change in its queue's directory alone (see Checks).
   */
  patient = false;
}
