import { errorResponses, type ZodTypeProvider } from "@relaybase/server-kit";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { Billing } from "./index.js";

/** Stripe's events are a few KB; invoices with many lines can be larger. */
const WEBHOOK_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * `POST /webhooks/stripe`. The signature covers the exact bytes Stripe sent, so in this
 * route's own scope every content type is read as a raw Buffer instead of parsed JSON.
 * Answers 200 once the event is applied (or ignored), 400 BAD_REQUEST on a bad or missing
 * signature (nothing changes), 503 UNAVAILABLE when Stripe cannot be asked (Stripe retries),
 * 501 BILLING_DISABLED without STRIPE_SECRET_KEY.
 */
const webhookResponse = z.object({
  received: z.literal(true),
  handled: z
    .boolean()
    .describe("false for events that change nothing here (types not used, unknown subscriptions)."),
});

export function registerStripeWebhookRoute(app: FastifyInstance, billing: Billing): void {
  const schema = {
    summary: "Stripe's webhook (subscription changes)",
    description:
      "Point Stripe at it (docs/billing.md). The body is Stripe's event, read as the exact bytes its " +
      "signature covers; the subscription is then re-read from Stripe, not trusted from the event.",
    security: [{ stripeSignature: [] }],
    response: {
      200: webhookResponse.describe("The event is applied, or needs nothing here."),
      ...errorResponses("BAD_REQUEST", "BILLING_DISABLED", "UNAVAILABLE", "MESSAGE_TOO_LARGE"),
    },
  };
  app.register(async (plain) => {
    const scope = plain.withTypeProvider<ZodTypeProvider>();
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      "*",
      { parseAs: "buffer", bodyLimit: WEBHOOK_BODY_LIMIT_BYTES },
      (_req, body, done) => done(null, body),
    );
    scope.post("/webhooks/stripe", { schema }, async (request, reply) => {
      const payload = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const header = request.headers["stripe-signature"];
      const outcome = await billing.handleWebhook(payload, typeof header === "string" ? header : undefined);
      request.log.debug({ outcome }, "stripe webhook");
      return reply.code(200).send({ received: true as const, handled: outcome.handled });
    });
  });
}
