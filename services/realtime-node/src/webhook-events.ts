import { patternMatches } from "@relaybase/protocol";
import {
  type AppRuntime,
  derivedWebhookEventId,
  type Logger,
  type PresenceChange,
  type TenantDirectory,
  type WebhookEmitter,
  webhookEvent,
} from "@relaybase/server-kit";

/**
 * The webhook events a realtime node causes (docs/webhooks.md#events), handed to its
 * emitter (a Redis stream in a cluster, the outbox when embedded). Only what one of the
 * app's enabled endpoints wants is sent: the tenant directory carries their events and
 * room patterns (`AppRuntime.webhooks`).
 */
export class NodeWebhooks {
  constructor(
    private readonly directory: TenantDirectory,
    private readonly emitter: WebhookEmitter | undefined,
    private readonly logger: Pick<Logger, "warn">,
  ) {}

  /**
   * A presence change, called where it is announced: once per change cluster-wide (the
   * store's script decides which node announces), including a dead node's leaves found by a survivor.
   */
  presenceChanged(change: PresenceChange): void {
    if (!this.emitter || change.action === "update") return;
    const at = Date.now();
    void this.directory.byId(change.appId).then(
      (app) => {
        const { room, member } = change;
        if (change.action === "enter" && wants(app, "presence.member_added")) {
          this.emitter?.emit(
            webhookEvent(
              "presence.member_added",
              change.appId,
              { room, userId: member.userId, connectionId: member.connectionId, data: member.data },
              at,
            ),
          );
        } else if (change.action === "leave" && wants(app, "presence.member_removed")) {
          this.emitter?.emit(
            webhookEvent(
              "presence.member_removed",
              change.appId,
              { room, userId: member.userId, connectionId: member.connectionId },
              at,
            ),
          );
        }
      },
      (err: unknown) => this.logger.warn({ err, appId: change.appId }, "presence webhook event not sent"),
    );
  }

  /** A client's publish, stored (it has its offset): sent for rooms an endpoint opted into. */
  clientPublished(
    app: AppRuntime,
    message: { room: string; event: string; data: unknown; id: string; offset: number; epoch: string },
    from: { connectionId: string; userId?: string },
  ): void {
    if (!this.emitter || !wants(app, "client.published")) return;
    if (!app.webhooks?.clientRooms.some((p) => patternMatches(p, message.room))) return;
    const { epoch, ...payload } = message;
    // One event per stored message: a publish retried with the same id gets the same event id.
    const id = derivedWebhookEventId("client.published", app.appId, message.room, epoch, message.offset);
    this.emitter.emit(webhookEvent("client.published", app.appId, { ...payload, ...from }, Date.now(), id));
  }
}

function wants(app: AppRuntime | undefined, type: string): boolean {
  return !!app?.webhooks?.events.includes(type as never);
}
