import Stripe from "stripe";

/**
 * Stripe answers within a few hundred milliseconds; a webhook delivery must be answered
 * within Stripe's own timeout, so a hanging call gives up well before that.
 */
const STRIPE_TIMEOUT_MS = 10_000;

/**
 * The official client. `apiUrl` (STRIPE_API_URL) points it at another base URL, such as
 * the local stand-in the tests run; it maps onto the client's protocol/host/port options.
 */
export function createStripeClient(secretKey: string, apiUrl?: string): Stripe {
  const config: Stripe.StripeConfig = {
    maxNetworkRetries: 2,
    timeout: STRIPE_TIMEOUT_MS,
    appInfo: { name: "Relaybase control plane" },
  };
  if (apiUrl) {
    const url = new URL(apiUrl);
    const protocol = url.protocol === "http:" ? "http" : "https";
    config.protocol = protocol;
    config.host = url.hostname;
    config.port = url.port === "" ? (protocol === "http" ? 80 : 443) : Number(url.port);
  }
  return new Stripe(secretKey, config);
}

/** Stripe could not be reached or answered 5xx/429: worth retrying later, unlike a rejected request. */
export function isTransientStripeError(err: unknown): boolean {
  return (
    err instanceof Stripe.errors.StripeConnectionError ||
    err instanceof Stripe.errors.StripeAPIError ||
    err instanceof Stripe.errors.StripeRateLimitError ||
    (err instanceof Stripe.errors.StripeError && (err.statusCode ?? 0) >= 500)
  );
}

/** Stripe says the object does not exist (e.g. a subscription of another account or mode). */
export function isMissingResource(err: unknown): boolean {
  return err instanceof Stripe.errors.StripeError && err.code === "resource_missing";
}
