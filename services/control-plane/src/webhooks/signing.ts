import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";

/**
 * Standard Webhooks signatures (docs/webhooks.md#verifying): `webhook-id`,
 * `webhook-timestamp` (seconds), `webhook-signature` = `v1,<base64 HMAC-SHA256 of
 * "id.timestamp.body">`, one per live secret, space-separated, so that during a rotation
 * a receiver holding either secret verifies the request.
 */

/** A new endpoint secret, `whsec_` + 24 random bytes in base64 (the scheme's format). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

export interface SigningSecrets {
  secret: string;
  previousSecret?: string | null;
  previousSecretExpiresAt?: Date | null;
}

/** The secrets that sign now: the current one, and the previous one while its overlap lasts. */
export function liveSecrets(s: SigningSecrets, now = Date.now()): string[] {
  const live = [s.secret];
  if (s.previousSecret && s.previousSecretExpiresAt && s.previousSecretExpiresAt.getTime() > now) {
    live.push(s.previousSecret);
  }
  return live;
}

export function signatureHeaders(
  secrets: SigningSecrets,
  id: string,
  body: string,
  at = new Date(),
): Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string> {
  const signatures = liveSecrets(secrets, at.getTime()).map((s) => new Webhook(s).sign(id, at, body));
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": signatures.join(" "),
  };
}
