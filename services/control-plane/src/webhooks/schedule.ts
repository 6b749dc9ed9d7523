/**
 * Retries (docs/webhooks.md#retries): after the n-th failed attempt of a delivery, wait
 * `schedule[n-1]` plus 0-20% jitter (added, never taken off, so the whole schedule lasts
 * at least its sum); after the last, the delivery is dead-lettered.
 */
export function retryDelayMs(
  schedule: readonly number[],
  failedAttempts: number,
  random = Math.random,
): number | undefined {
  const base = schedule[failedAttempts - 1];
  if (base === undefined) return undefined;
  return Math.round(base * (1 + 0.2 * random()));
}
