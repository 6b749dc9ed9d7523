import type { KeyUseStore } from "@relaybase/server-kit";
import { call, type RedisClient } from "./client.js";

/**
 * Key last-used times in one Redis hash, `rb:keys:last-used` (key use id → ms), written by
 * every node and REST instance (at most once a minute per key per process, server-kit's
 * `KeyUse`) and read by the control plane for the console. Last write wins: processes'
 * clocks differ by less than the minute's resolution.
 */
export class RedisKeyUseStore implements KeyUseStore {
  readonly #key: string;

  constructor(
    private readonly client: RedisClient,
    private readonly options: { prefix?: string; commandTimeoutMs?: number } = {},
  ) {
    this.#key = `${options.prefix ?? ""}rb:keys:last-used`;
  }

  async record(uses: Map<string, number>): Promise<void> {
    if (uses.size === 0) return;
    const pairs = [...uses].flatMap(([id, at]) => [id, String(at)]);
    await call(this.client, ["HSET", this.#key, ...pairs], this.options.commandTimeoutMs ?? 1_000);
  }

  async lastUsed(ids: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (ids.length === 0) return out;
    const values = (await call(
      this.client,
      ["HMGET", this.#key, ...ids],
      this.options.commandTimeoutMs ?? 1_000,
    )) as (string | null)[];
    ids.forEach((id, i) => {
      const at = Number(values[i]);
      if (values[i] && Number.isFinite(at)) out.set(id, at);
    });
    return out;
  }
}
