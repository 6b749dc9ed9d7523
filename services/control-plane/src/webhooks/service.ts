import type { WebhookEvent } from "@relaybase/protocol";
import type { Logger } from "@relaybase/server-kit";
import type { ControlPlaneConfig } from "../config.js";
import type { Database } from "../db/index.js";
import { type DispatcherConfig, WebhookDispatcher } from "./dispatcher.js";
import { ingestEvents } from "./outbox.js";
import type { HostLookup, UrlPolicy } from "./url-safety.js";

export interface WebhooksOptions {
  db: Database;
  config: DispatcherConfig & Pick<ControlPlaneConfig, "WEBHOOK_DISPATCHER">;
  logger: Logger;
  lookup?: HostLookup | undefined;
  onEndpointDisabled?: (appId: string) => void;
}

/**
 * The control plane's side of webhooks: the URL policy endpoints are saved under, the
 * outbox writer (for events the control plane causes itself and for the embedded node's),
 * and the dispatcher when it runs in this process (WEBHOOK_DISPATCHER).
 */
export class Webhooks {
  readonly policy: UrlPolicy;
  readonly dispatcher: WebhookDispatcher | undefined;
  readonly #db: Database;

  constructor(options: WebhooksOptions) {
    const { config } = options;
    this.#db = options.db;
    this.policy = {
      allowHttp: config.WEBHOOK_ALLOW_HTTP,
      allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_URLS,
      ...(options.lookup ? { lookup: options.lookup } : {}),
    };
    this.dispatcher = config.WEBHOOK_DISPATCHER
      ? new WebhookDispatcher({
          db: options.db,
          config,
          logger: options.logger,
          ...(options.lookup ? { lookup: options.lookup } : {}),
          ...(options.onEndpointDisabled ? { onEndpointDisabled: options.onEndpointDisabled } : {}),
        })
      : undefined;
  }

  /** Into the outbox (idempotent by event id); resolves once committed. */
  ingest(events: WebhookEvent[]): Promise<number> {
    return this.dispatcher ? this.dispatcher.ingest(events) : ingestEvents(this.#db, events);
  }

  /** Due work changed (a replay, an endpoint enabled): look now rather than at the next poll. */
  wake(): void {
    this.dispatcher?.wake();
  }

  start(): void {
    this.dispatcher?.start();
  }

  close(): Promise<void> {
    return this.dispatcher?.close() ?? Promise.resolve();
  }
}
