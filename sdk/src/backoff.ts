/**
 * Exponential backoff with jitter: attempt 0 waits about `minMs`, each attempt doubles,
 * capped at `maxMs`. The jitter keeps thousands of clients that lost the same node from
 * coming back in the same instant.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.5 + random() * 0.5));
}
