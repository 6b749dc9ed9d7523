/**
 * Webhooks (docs/webhooks.md): the event types a customer's endpoint can subscribe to and
 * the shape of what it receives. A request's body is `{ "events": [WebhookEvent, …] }`
 * (one or more, in the order they happened), signed by the Standard Webhooks scheme.
 */
export const WEBHOOK_EVENT_TYPES = [
  "room.occupied",
  "room.vacated",
  "presence.member_added",
  "presence.member_removed",
  "client.published",
  "connection.quota_warning",
  "webhook.test",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Types an endpoint may subscribe to (`webhook.test` is only sent by the test-send button). */
export const SUBSCRIBABLE_WEBHOOK_EVENTS = WEBHOOK_EVENT_TYPES.filter((t) => t !== "webhook.test");

export function isWebhookEventType(value: unknown): value is WebhookEventType {
  return typeof value === "string" && (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}

export interface WebhookPayloads {
  /** The room's first subscriber on any node (after the debounce: a quick reconnect sends nothing). */
  "room.occupied": { room: string; subscribers: number };
  /** The room's last subscriber on any node left, or its node died (after the debounce). */
  "room.vacated": { room: string };
  "presence.member_added": { room: string; userId: string; connectionId: string; data: unknown };
  "presence.member_removed": { room: string; userId: string; connectionId: string };
  "client.published": {
    room: string;
    event: string;
    data: unknown;
    /** The message id and its offset in the room (as subscribers see them). */
    id: string;
    offset: number;
    connectionId: string;
    userId?: string;
  };
  "connection.quota_warning": {
    quota: "messagesPerDay";
    /** The UTC day (`YYYY-MM-DD`). */
    day: string;
    used: number;
    limit: number;
  };
  "webhook.test": { endpointId: string; message: string };
}

/** One event as an endpoint receives it. `id` is stable across retries and replays: dedupe on it. */
export interface WebhookEvent<T extends WebhookEventType = WebhookEventType> {
  id: string;
  type: T;
  appId: string;
  /** When the cause happened, ISO 8601 UTC. */
  time: string;
  data: WebhookPayloads[T];
}

/** The body of every webhook request. */
export interface WebhookBody {
  events: WebhookEvent[];
}
