/**
 * Taking a number on Redis: a wait's draw (trying again while Redis is away,
 * if the wait has a timeout), a redraw after a lapse, and a try, which gives
 * a newest number without presence its grace period before it finds the
 * resource busy.
 *
 * @module
 */

import { ConnectionError } from "../errors.ts";
import { isAway } from "./errors.ts";
import { retryWhileAway } from "./outage.ts";
import { NEWEST_GRACE_MS } from "./scripts.ts";
import type { Session } from "./session.ts";
import { applying, type DrawArgs, type RedisDrawn } from "./steps.ts";
import type { RedisTicket } from "./ticket.ts";
import { delay } from "../wait.ts";

/** What drawing asks of its engine. */
export interface DrawsHost {
  /** Connects, or refuses once the engine is closed. */
  ready(): Promise<void>;
  /** Whether `ready()` would resolve at once: connected, and not closed. */
  connected(): boolean;
  /** Grants the ticket (see TurnEngine.grant). */
  grant(ticket: RedisTicket, fence: bigint, sentAt: number): void;
  /** A due time has changed: the heartbeat's timer is set again. */
  schedule(): void;
  closed(): boolean;
}

/** One engine's draws. */
export class Draws {
  readonly #session: Session;
  readonly #host: DrawsHost;

  constructor(session: Session, host: DrawsHost) {
    this.#session = session;
    this.#host = host;
  }

  /** Takes the turn only if nobody holds or waits; true if it did. */
  async tryDraw(ticket: RedisTicket): Promise<boolean> {
    let skip = 0;
    for (;;) {
      const sentAt = Date.now();
      const step = ticket.steps.tryDraw(
        this.#session.target(ticket.keys),
        this.#drawArgs(ticket, skip),
      );
      const drawn = await this.#session.run(step);
      if ("n" in drawn) {
        ticket.number = drawn.n;
        this.#host.grant(ticket, drawn.fence, sentAt);
        return true;
      }
      // A newest number without presence may be a turn 1.0 client mid-draw.
      if (drawn.stuck === 0 || skip === drawn.stuck) return false;
      skip = drawn.stuck;
      await delay(NEWEST_GRACE_MS);
    }
  }

  #drawArgs(ticket: RedisTicket, skip: number): DrawArgs {
    const { spec, token } = ticket;
    return { label: spec.label, expire: spec.expire, token, skip };
  }

  /**
   * Connects if need be and draws a number. While Redis is away (refused,
   * or ioredis gave a command up after about 4.5 s of reconnecting), a wait
   * with a timeout tries again until Redis is back or the wait ends, as a
   * waiter that drew before the outage waits; one without a timeout fails
   * with a ConnectionError. A refusal (a wrong password, a missing
   * permission) fails at once either way.
   */
  drawWhileAway(ticket: RedisTicket): Promise<void> {
    const attempt = () =>
      this.#host.connected()
        ? this.draw(ticket)
        : this.#host.ready().then(() => this.draw(ticket));
    const waits = (error: unknown) => {
      const wait = ticket.bounded && isAway(error) &&
        ticket.state === "drawing" && !this.#host.closed();
      // Kept for the TimeoutError, should the wait run out meanwhile.
      const owned = this.#session.own(error);
      if (wait && owned instanceof ConnectionError) ticket.away = owned;
      return wait;
    };
    return retryWhileAway(attempt, waits).catch((error) => {
      throw this.#session.own(error);
    });
  }

  /** Draws a number; the ticket remembers the draw so leaving can await it. */
  draw(ticket: RedisTicket): Promise<void> {
    const sentAt = Date.now();
    const step = ticket.steps.draw(
      this.#session.target(ticket.keys),
      this.#drawArgs(ticket, 0),
    );
    const drawn = (result: RedisDrawn) => this.#drawn(ticket, result, sentAt);
    const drawing = this.#session.run(applying(step, drawn));
    ticket.drawing = drawing.catch(() => {});
    return drawing;
  }

  #drawn(ticket: RedisTicket, drawn: RedisDrawn, sentAt: number): void {
    ticket.number = drawn.n;
    ticket.away = undefined;
    ticket.validUntil = sentAt + ticket.spec.expire;
    ticket.lastNews = Date.now();
    if (ticket.state === "leaving") return;
    if (drawn.granted) return this.#host.grant(ticket, drawn.fence, sentAt);
    ticket.state = "waiting";
    ticket.foreign = drawn.foreign;
    // Its grant may come as a message carrying this proof: worked out now,
    // not as the message comes.
    void ticket.proof;
    ticket.seeIndicator(drawn.indicator);
    this.#host.schedule();
  }
}
