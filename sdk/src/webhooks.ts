/**
 * Verifying Relaybase webhooks on your server (docs/webhooks.md#verifying): the Standard
 * Webhooks scheme, checked with the `standardwebhooks` package. Exported from
 * `@relaybase/sdk/server`.
 */
import type { WebhookBody } from "@relaybase/protocol";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

export type { WebhookBody, WebhookEvent, WebhookEventType, WebhookPayloads } from "@relaybase/protocol";
export { WebhookVerificationError };

/** A request as frameworks hand it over: a Fetch `Request`, or headers and the raw body. */
export type WebhookRequest =
  | Request
  | {
      /** `Headers`, or Node's `IncomingMessage.headers`. */
      headers: Headers | Record<string, string | string[] | undefined>;
      /** The body exactly as received (not re-serialised JSON: the signature covers the bytes). */
      body: string | Uint8Array;
    };

const HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature"] as const;

/**
 * Checks a webhook's signature and age (5 minutes either way) and returns its body,
 * `{ events: [...] }`. Throws `WebhookVerificationError` when the signature does not match
 * any of the `secrets` (pass the old and the new one while you rotate), a header is
 * missing or the timestamp is too old or too new. Deduplicate on each event's `id`:
 * delivery is at least once.
 *
 * @example
 * const { events } = await verifyWebhook(request, process.env.RELAYBASE_WEBHOOK_SECRET!);
 */
export async function verifyWebhook(
  request: WebhookRequest,
  secrets: string | string[],
): Promise<WebhookBody> {
  const list = Array.isArray(secrets) ? secrets : [secrets];
  if (list.length === 0) throw new WebhookVerificationError("No webhook secret given");
  const body =
    request instanceof Request
      ? await request.text()
      : typeof request.body === "string"
        ? request.body
        : new TextDecoder().decode(request.body);
  const headers: Record<string, string> = {};
  for (const name of HEADERS) {
    const value = headerOf(request.headers, name);
    if (value !== undefined) headers[name] = value;
  }
  let lastError: unknown;
  for (const secret of list) {
    try {
      return new Webhook(secret).verify(body, headers) as WebhookBody;
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError instanceof WebhookVerificationError
    ? lastError
    : new WebhookVerificationError(lastError instanceof Error ? lastError.message : "Invalid webhook");
}

function headerOf(headers: WebhookRequest["headers"], name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
