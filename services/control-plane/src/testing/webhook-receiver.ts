import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { WebhookBody } from "@relaybase/protocol";

/** One request a test receiver got: headers and the raw body, as a customer's server sees them. */
export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  /** The status the receiver answered. */
  status: number;
  events: WebhookBody["events"];
}

export interface WebhookReceiver {
  /** http://127.0.0.1:<port>/hooks */
  url: string;
  received: ReceivedWebhook[];
  /** Requests read and not yet answered (a slow answer in progress). */
  inProgress: number;
  /** Ids of the events in requests answered 2xx (a duplicate appears twice). */
  acceptedEventIds(): string[];
  /** Decides each answer: a status, optionally after a delay (ms). Default 200 at once. */
  respond: (request: { index: number; body: string }) => number | { status: number; delayMs?: number };
  close(): Promise<void>;
}

/**
 * A real HTTP server standing in for a customer's webhook endpoint (tests only), on a
 * free loopback port. Endpoints pointing here need WEBHOOK_ALLOW_HTTP and
 * WEBHOOK_ALLOW_PRIVATE_URLS (127.0.0.1 is loopback).
 */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    url: "",
    received: [],
    inProgress: 0,
    acceptedEventIds: () =>
      receiver.received
        .filter((r) => r.status >= 200 && r.status < 300)
        .flatMap((r) => r.events.map((e) => e.id)),
    respond: () => 200,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  let index = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const answer = receiver.respond({ index: index++, body });
      const { status, delayMs = 0 } = typeof answer === "number" ? { status: answer } : answer;
      let events: WebhookBody["events"] = [];
      try {
        events = (JSON.parse(body) as WebhookBody).events ?? [];
      } catch {
        // recorded as received; the test sees an empty event list
      }
      // Recorded when read, as a customer's server acts on it: one whose sender dies before the
      // answer arrives was still received (and, sent again, is a duplicate).
      receiver.received.push({ headers: req.headers, body, status, events });
      receiver.inProgress += 1;
      setTimeout(() => {
        receiver.inProgress -= 1;
        if (!res.destroyed) res.writeHead(status, { "content-type": "text/plain" }).end(`answered ${status}`);
      }, delayMs);
    });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}
