/**
 * The plans and their limits: the one table (DESIGN §6, docs/limits.md). An org's plan
 * gives each of its apps these limits; an operator can override any of them per app
 * (`app_limit_overrides` in Postgres). Changing a number here changes it for every app on
 * the plan at the control plane's next start (or the app's next change).
 */
export const PLAN_IDS = ["free", "pro", "scale"] as const;
export type PlanId = (typeof PLAN_IDS)[number];

export interface PlanLimits {
  /** Concurrent connections of one app, across the cluster. */
  maxConnections: number;
  /** Messages published per app per UTC day (client and REST publishes together). */
  messagesPerDay: number;
  /** Largest message `data`, in bytes of its JSON encoding. */
  maxMessageBytes: number;
  /** Client publishes per second, per connection. */
  clientPublishesPerSecond: number;
  /** REST publish requests per second, per app (a batch counts once per message). */
  restPublishesPerSecond: number;
  /** Rooms one connection may be subscribed to at once. */
  roomsPerConnection: number;
  /** New connections per second from one IP address to one app. */
  connectionsPerSecondPerIp: number;
  /** Messages kept per room for recovery and replay. */
  historySize: number;
  /** How long a message stays in a room's history, in seconds. */
  historyTtlSeconds: number;
  /** Presence members (distinct user ids) one room may hold, across the cluster. */
  presenceMembersPerRoom: number;
  /** Webhook endpoints one app may have (docs/webhooks.md). */
  webhookEndpoints: number;
  /** Webhook requests the dispatcher sends per second for one app (a batch counts once). */
  webhookDeliveriesPerSecond: number;
}

export const PLANS: Record<PlanId, PlanLimits> = {
  free: {
    maxConnections: 100,
    messagesPerDay: 200_000,
    maxMessageBytes: 64 * 1024,
    clientPublishesPerSecond: 10,
    restPublishesPerSecond: 50,
    roomsPerConnection: 100,
    connectionsPerSecondPerIp: 20,
    historySize: 100,
    historyTtlSeconds: 300,
    presenceMembersPerRoom: 100,
    webhookEndpoints: 2,
    webhookDeliveriesPerSecond: 10,
  },
  pro: {
    maxConnections: 10_000,
    messagesPerDay: 10_000_000,
    maxMessageBytes: 64 * 1024,
    clientPublishesPerSecond: 50,
    restPublishesPerSecond: 500,
    roomsPerConnection: 200,
    connectionsPerSecondPerIp: 50,
    historySize: 1_000,
    historyTtlSeconds: 3_600,
    presenceMembersPerRoom: 1_000,
    webhookEndpoints: 10,
    webhookDeliveriesPerSecond: 100,
  },
  scale: {
    maxConnections: 100_000,
    messagesPerDay: 200_000_000,
    maxMessageBytes: 256 * 1024,
    clientPublishesPerSecond: 100,
    restPublishesPerSecond: 5_000,
    roomsPerConnection: 500,
    connectionsPerSecondPerIp: 100,
    historySize: 10_000,
    historyTtlSeconds: 86_400,
    presenceMembersPerRoom: 20_000,
    webhookEndpoints: 50,
    webhookDeliveriesPerSecond: 1_000,
  },
};

export function isPlanId(value: unknown): value is PlanId {
  return typeof value === "string" && (PLAN_IDS as readonly string[]).includes(value);
}
