import { patternMatches, type WebhookEvent } from "@relaybase/protocol";
import { randomId } from "@relaybase/server-kit";
import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { Database } from "../db/index.js";
import { webhookDeliveries, webhookEndpoints } from "../db/schema.js";

/**
 * The webhook outbox in Postgres (docs/webhooks.md#stores): one `webhook_deliveries` row
 * per event and endpoint, written once when the event is ingested (idempotent on the
 * event id), then claimed by a dispatcher through a lease on its endpoint.
 */

/** Rows per INSERT. */
const INSERT_CHUNK = 500;

export async function rows<T>(db: Database, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/** Whether an endpoint with these settings receives the event. */
export function endpointWants(
  endpoint: { id: string; events: string[]; clientRooms: string[] },
  event: WebhookEvent,
): boolean {
  if (event.type === "webhook.test")
    return (event.data as { endpointId?: string }).endpointId === endpoint.id;
  if (!endpoint.events.includes(event.type)) return false;
  if (event.type === "client.published") {
    const room = (event.data as { room: string }).room;
    return endpoint.clientRooms.some((p) => patternMatches(p, room));
  }
  return true;
}

/**
 * Writes each event as a delivery for every enabled endpoint of its app that wants it.
 * An event seen before (same id, same endpoint) is not written again: sources re-send
 * after a failure, the outbox keeps one. Returns the rows written.
 */
export async function ingestEvents(db: Database, events: WebhookEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const appIds = [...new Set(events.map((e) => e.appId))];
  const endpoints = await db
    .select({
      id: webhookEndpoints.id,
      appId: webhookEndpoints.appId,
      events: webhookEndpoints.events,
      clientRooms: webhookEndpoints.clientRooms,
    })
    .from(webhookEndpoints)
    .where(and(inArray(webhookEndpoints.appId, appIds), eq(webhookEndpoints.enabled, true)));
  const values: (typeof webhookDeliveries.$inferInsert)[] = [];
  for (const event of events) {
    for (const endpoint of endpoints) {
      if (endpoint.appId !== event.appId || !endpointWants(endpoint, event)) continue;
      values.push({
        id: `whd_${randomId(20)}`,
        appId: event.appId,
        endpointId: endpoint.id,
        eventId: event.id,
        eventType: event.type,
        event: event as unknown as Record<string, unknown>,
      });
    }
  }
  let written = 0;
  for (let i = 0; i < values.length; i += INSERT_CHUNK) {
    const inserted = await db
      .insert(webhookDeliveries)
      .values(values.slice(i, i + INSERT_CHUNK))
      .onConflictDoNothing()
      .returning({ id: webhookDeliveries.id });
    written += inserted.length;
  }
  return written;
}

export interface ClaimedEndpoint {
  id: string;
  appId: string;
  url: string;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
}

/**
 * Leases up to `max` enabled endpoints whose oldest pending delivery is due, for
 * `leaseMs`, under `token`. SKIP LOCKED: dispatchers claiming at once take different
 * endpoints. A lapsed lease (its dispatcher died) is claimable again. Times are the
 * database's, one clock for every dispatcher.
 */
export async function claimEndpoints(
  db: Database,
  max: number,
  leaseMs: number,
  token: string,
): Promise<ClaimedEndpoint[]> {
  const claimed = await rows<{
    id: string;
    app_id: string;
    url: string;
    secret: string;
    previous_secret: string | null;
    previous_secret_expires_at: string | Date | null;
  }>(
    db,
    sql`UPDATE webhook_endpoints SET lease_until = now() + ${leaseMs} * interval '1 millisecond', lease_token = ${token}
      WHERE id IN (
        SELECT e.id FROM webhook_endpoints e
        WHERE e.enabled AND (e.lease_until IS NULL OR e.lease_until < now())
          AND (SELECT d.next_attempt_at FROM webhook_deliveries d
               WHERE d.endpoint_id = e.id AND d.status = 'pending' ORDER BY d.seq LIMIT 1) <= now()
        LIMIT ${max}
        FOR UPDATE SKIP LOCKED)
      RETURNING id, app_id, url, secret, previous_secret, previous_secret_expires_at`,
  );
  return claimed.map((r) => ({
    id: r.id,
    appId: r.app_id,
    url: r.url,
    secret: r.secret,
    previousSecret: r.previous_secret,
    previousSecretExpiresAt: r.previous_secret_expires_at ? new Date(r.previous_secret_expires_at) : null,
  }));
}

/** The endpoint's oldest pending deliveries, in order: what the next request carries. */
export function nextBatch(db: Database, endpointId: string, max: number) {
  return db
    .select({
      id: webhookDeliveries.id,
      event: webhookDeliveries.event,
      attempts: webhookDeliveries.attempts,
    })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.status, "pending")))
    .orderBy(webhookDeliveries.seq)
    .limit(max);
}

/** Gives the endpoint back (if the lease is still this token's), due again after `delayMs`. */
export async function releaseEndpoint(db: Database, endpointId: string, token: string): Promise<void> {
  await db.execute(
    sql`UPDATE webhook_endpoints SET lease_until = NULL, lease_token = NULL
        WHERE id = ${endpointId} AND lease_token = ${token}`,
  );
}

export async function extendLease(
  db: Database,
  endpointId: string,
  token: string,
  leaseMs: number,
): Promise<boolean> {
  const r = await rows<{ id: string }>(
    db,
    sql`UPDATE webhook_endpoints SET lease_until = now() + ${leaseMs} * interval '1 millisecond'
        WHERE id = ${endpointId} AND lease_token = ${token} RETURNING id`,
  );
  return r.length > 0;
}
