import type { RoomStates } from "@relaybase/server-kit";
import { call, type RedisClient } from "./client.js";

/**
 * `RoomStates` in Redis (docs/webhooks.md#room-events): one hash under `{rb:whrooms}`,
 * field `<appId>|<room>` present while the room was announced occupied. HSETNX and HDEL
 * answer whether they changed anything, so of several nodes deciding at once exactly one
 * announces. Lost with Redis's data (no persistence): see the doc for what that costs.
 */
export class RedisRoomStates implements RoomStates {
  readonly #key: string;
  readonly #lock: string;

  constructor(
    private readonly redis: RedisClient,
    options: { prefix?: string; commandTimeoutMs?: number } = {},
    private readonly timeoutMs = options.commandTimeoutMs ?? 1_000,
  ) {
    this.#key = `${options.prefix ?? ""}{rb:whrooms}:occupied`;
    this.#lock = `${options.prefix ?? ""}{rb:whrooms}:sweep`;
  }

  async set(appId: string, room: string, occupied: boolean): Promise<boolean> {
    const field = `${appId}|${room}`;
    const args = occupied ? ["HSETNX", this.#key, field, "1"] : ["HDEL", this.#key, field];
    return (await call(this.redis, args, this.timeoutMs)) === 1;
  }

  async *occupied(): AsyncIterable<{ appId: string; room: string }> {
    let cursor = "0";
    do {
      const [next, fields] = (await call(
        this.redis,
        ["HSCAN", this.#key, cursor, "COUNT", "500"],
        this.timeoutMs,
      )) as [string, string[]];
      cursor = next;
      for (let i = 0; i < fields.length; i += 2) {
        const key = fields[i]!;
        const at = key.indexOf("|");
        yield { appId: key.slice(0, at), room: key.slice(at + 1) };
      }
    } while (cursor !== "0");
  }

  async takeSweep(nodeId: string, ms: number): Promise<boolean> {
    return (
      (await call(this.redis, ["SET", this.#lock, nodeId, "NX", "PX", String(ms)], this.timeoutMs)) === "OK"
    );
  }
}
