/**
 * A fixed-window counter in memory, per key. Enough for login attempts on one control
 * plane; several replicas each count on their own (a limit of N per replica).
 */
export class WindowRateLimiter {
  readonly #hits = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one attempt; false when the key is over its limit in the current window. */
  hit(key: string): boolean {
    const now = this.now();
    if (this.#hits.size > 10_000) this.#sweep(now);
    const entry = this.#hits.get(key);
    if (!entry || entry.resetAt <= now) {
      this.#hits.set(key, { count: 1, resetAt: now + this.windowMs });
      return true;
    }
    entry.count += 1;
    return entry.count <= this.limit;
  }

  /** Seconds until the key may try again (for Retry-After style hints). */
  retryAfterSeconds(key: string): number {
    const entry = this.#hits.get(key);
    return entry ? Math.max(0, Math.ceil((entry.resetAt - this.now()) / 1000)) : 0;
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#hits) if (entry.resetAt <= now) this.#hits.delete(key);
  }
}
