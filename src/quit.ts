/**
 * Closing ioredis clients.
 *
 * @module
 */

import type { Client } from "./connection.ts";

/** Closes a client politely, or at once if it is not connected. */
export async function quit(client: Client): Promise<void> {
  if (client.status === "ready") {
    try {
      await client.quit();
      return;
    } catch { /* fall through to disconnect */ }
  }
  client.disconnect();
}
