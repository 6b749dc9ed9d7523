import { RelaybaseError } from "@relaybase/protocol";
import type { AppRuntime, RateDecision, RateLimiter } from "@relaybase/server-kit";

/**
 * The REST API's own limit (docs/limits.md): REST publishes per second per app,
 * across the cluster (`restPublishesPerSecond`). A publish request counts 1 whatever
 * its rooms, a batch counts its messages (the plan's definition); the daily quota, which
 * counts each room, is `takeDailyQuota` from server-kit, shared with client publishes.
 *
 * Fail policy: closed. If the limiter's store fails, the request gets UNAVAILABLE (503,
 * retry with backoff): in a cluster the same Redis holds room history, so the publish
 * could not be stored anyway.
 */
export async function checkRestPublishRate(
  rate: RateLimiter,
  app: AppRuntime,
  messages: number,
): Promise<void> {
  const limit = app.limits.restPublishesPerSecond;
  if (messages > limit) {
    // Waiting would never help this request: it is bigger than a whole second's budget.
    throw new RelaybaseError(
      "TOO_MANY_ROOMS",
      `This request holds ${messages} messages; the app may publish ${limit} per second over REST. Send smaller batches.`,
    );
  }
  let decision: RateDecision;
  try {
    decision = await rate.consume({ name: "rest-publish", limit }, app.appId, messages);
  } catch (err) {
    throw Object.assign(new RelaybaseError("UNAVAILABLE", "The rate limiter does not answer."), {
      cause: err,
    });
  }
  if (!decision.allowed) {
    throw new RelaybaseError(
      "RATE_LIMITED",
      `More than ${limit} REST publishes per second for this app; retry after the Retry-After header's seconds.`,
      { retryAfter: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)) },
    );
  }
}
