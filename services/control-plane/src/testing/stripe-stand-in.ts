/**
 * A local stand-in for the few Stripe API endpoints the control plane calls, for tests
 * only (Stripe itself cannot be reached from CI). The official `stripe` client talks to it
 * through STRIPE_API_URL. It answers Stripe-shaped JSON, keeps customers and subscriptions
 * in memory so a test can say what Stripe "knows", records every request, and signs
 * webhook events with the library's own test-header helper.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";

type Json = Record<string, unknown>;

export interface StandInRequest {
  method: string;
  /** Path without the query, e.g. /v1/customers. */
  path: string;
  /** Form (POST) or query (GET) parameters as Stripe's client encodes them: `metadata[orgId]`. */
  params: Record<string, string>;
  idempotencyKey: string | undefined;
}

export interface StandInSubscription {
  /** Default: a new sub_… id. */
  id?: string;
  customer: string;
  /** The price of its one item. */
  price: string;
  status: Stripe.Subscription.Status;
  metadata?: Record<string, string>;
}

export interface WebhookDelivery {
  /** The exact body to POST. */
  payload: string;
  /** The `stripe-signature` header for it. */
  signature: string;
  event: Json;
}

export interface StripeStandIn {
  /** Base URL for STRIPE_API_URL, e.g. http://127.0.0.1:54321. */
  url: string;
  /** The only key the stand-in accepts (others get 401 like Stripe's). */
  secretKey: string;
  requests: StandInRequest[];
  customers: Map<string, Json>;
  subscriptions: Map<string, Json>;
  /** Creates or replaces a subscription as Stripe would return it. */
  setSubscription(input: StandInSubscription): Json;
  /** A signed event, as Stripe's webhook delivery would send it. */
  webhook(type: string, object: Json, secret: string, options?: { timestamp?: number }): WebhookDelivery;
  /** The next `count` API requests fail with `status` (default 500), as an outage would. */
  failNext(count: number, status?: number): void;
  close(): Promise<void>;
}

const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString("hex")}`;
const now = () => Math.floor(Date.now() / 1000);

/** `a[b][0][c]=v` → `{ a: { b: [{ c: v }] } }`, the way Stripe reads form bodies. */
export function nestParams(params: Record<string, string>): Json {
  const root: Json = {};
  for (const [key, value] of Object.entries(params)) {
    const parts = key.split(/\[|\]\[|\]/).filter((p) => p !== "");
    let node: Record<string, unknown> = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) {
        node[part] = value;
        return;
      }
      const nextIsIndex = /^\d+$/.test(parts[i + 1] ?? "");
      node[part] ??= nextIsIndex ? [] : {};
      node = node[part] as Record<string, unknown>;
    });
  }
  return root;
}

function stripeError(res: ServerResponse, status: number, type: string, message: string, code?: string) {
  send(res, status, { error: { type, message, ...(code ? { code } : {}) } });
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json", "request-id": newId("req") });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startStripeStandIn(options: { secretKey?: string } = {}): Promise<StripeStandIn> {
  const secretKey = options.secretKey ?? "sk_test_relaybase_stand_in";
  const requests: StandInRequest[] = [];
  const customers = new Map<string, Json>();
  const subscriptions = new Map<string, Json>();
  const idempotent = new Map<string, { status: number; body: unknown }>();
  let failures = { count: 0, status: 500 };
  let baseUrl = "";

  const routes: Array<{
    method: string;
    pattern: RegExp;
    handle: (params: Record<string, string>, match: RegExpExecArray) => { status: number; body: unknown };
  }> = [
    {
      method: "POST",
      pattern: /^\/v1\/customers$/,
      handle: (params) => {
        const body = nestParams(params);
        const customer = {
          id: newId("cus"),
          object: "customer",
          created: now(),
          livemode: false,
          email: body.email ?? null,
          name: body.name ?? null,
          metadata: body.metadata ?? {},
        };
        customers.set(customer.id, customer);
        return { status: 200, body: customer };
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/checkout\/sessions$/,
      handle: (params) => {
        const body = nestParams(params);
        const id = newId("cs_test");
        return {
          status: 200,
          body: {
            id,
            object: "checkout.session",
            created: now(),
            livemode: false,
            mode: body.mode ?? "payment",
            status: "open",
            customer: body.customer ?? null,
            client_reference_id: body.client_reference_id ?? null,
            metadata: body.metadata ?? {},
            success_url: body.success_url ?? null,
            cancel_url: body.cancel_url ?? null,
            subscription: null,
            url: `${baseUrl}/c/pay/${id}`,
          },
        };
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/billing_portal\/sessions$/,
      handle: (params) => {
        const id = newId("bps");
        return {
          status: 200,
          body: {
            id,
            object: "billing_portal.session",
            created: now(),
            livemode: false,
            customer: params.customer ?? null,
            return_url: params.return_url ?? null,
            url: `${baseUrl}/p/session/${id}`,
          },
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/subscriptions\/([^/]+)$/,
      handle: (_params, match) => {
        const subscription = subscriptions.get(decodeURIComponent(match[1] ?? ""));
        if (subscription) return { status: 200, body: subscription };
        return {
          status: 404,
          body: {
            error: {
              type: "invalid_request_error",
              code: "resource_missing",
              message: `No such subscription: '${match[1]}'`,
              param: "id",
            },
          },
        };
      },
    },
  ];

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const raw = req.method === "GET" ? url.search.slice(1) : await readBody(req);
    const params = Object.fromEntries(new URLSearchParams(raw));
    const idempotencyKey = req.headers["idempotency-key"] as string | undefined;
    requests.push({ method: req.method ?? "", path: url.pathname, params, idempotencyKey });

    if (req.headers.authorization !== `Bearer ${secretKey}`) {
      return stripeError(res, 401, "invalid_request_error", "Invalid API Key provided.");
    }
    if (failures.count > 0) {
      failures.count -= 1;
      return stripeError(res, failures.status, "api_error", "The stand-in was told to fail this request.");
    }
    const cached = idempotencyKey ? idempotent.get(idempotencyKey) : undefined;
    if (cached) return send(res, cached.status, cached.body);
    for (const route of routes) {
      const match = route.method === req.method ? route.pattern.exec(url.pathname) : null;
      if (!match) continue;
      const answer = route.handle(params, match);
      if (idempotencyKey && req.method === "POST") idempotent.set(idempotencyKey, answer);
      return send(res, answer.status, answer.body);
    }
    stripeError(
      res,
      404,
      "invalid_request_error",
      `Unrecognized request URL (${req.method}: ${url.pathname}).`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl,
    secretKey,
    requests,
    customers,
    subscriptions,
    setSubscription(input) {
      const id = input.id ?? newId("sub");
      const subscription = {
        id,
        object: "subscription",
        created: now(),
        livemode: false,
        customer: input.customer,
        status: input.status,
        cancel_at_period_end: false,
        canceled_at: input.status === "canceled" ? now() : null,
        currency: "usd",
        metadata: input.metadata ?? {},
        items: {
          object: "list",
          has_more: false,
          url: `/v1/subscription_items?subscription=${id}`,
          data: [
            {
              id: newId("si"),
              object: "subscription_item",
              quantity: 1,
              subscription: id,
              price: {
                id: input.price,
                object: "price",
                active: true,
                currency: "usd",
                type: "recurring",
                recurring: { interval: "month", interval_count: 1 },
              },
            },
          ],
        },
      };
      subscriptions.set(id, subscription);
      return subscription;
    },
    webhook(type, object, secret, webhookOptions = {}) {
      const event = {
        id: newId("evt"),
        object: "event",
        api_version: Stripe.API_VERSION,
        created: now(),
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type,
        data: { object },
      };
      const payload = JSON.stringify(event, null, 2);
      const signature = Stripe.webhooks.generateTestHeaderString({
        payload,
        secret,
        ...(webhookOptions.timestamp === undefined ? {} : { timestamp: webhookOptions.timestamp }),
      });
      return { payload, signature, event };
    },
    failNext(count, status = 500) {
      failures = { count, status };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
