import { useMutation, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { type App, api, describeError, type Outputs, queryClient } from "../api";
import { ConfirmDialog, Copyable, Empty, ErrorNote, Field, formatDate, Loading } from "../ui";

/** The app's webhook endpoints, their delivery log and replay (docs/webhooks.md). */

type Endpoint = Outputs["webhooks"]["list"][number];
type Delivery = Outputs["webhooks"]["deliveries"]["deliveries"][number];

const EVENTS = [
  { id: "room.occupied", label: "room.occupied" },
  { id: "room.vacated", label: "room.vacated" },
  { id: "presence.member_added", label: "presence.member_added" },
  { id: "presence.member_removed", label: "presence.member_removed" },
  { id: "client.published", label: "client.published (rooms below)" },
  { id: "connection.quota_warning", label: "connection.quota_warning (80% of the daily quota)" },
] as const;
type EventId = (typeof EVENTS)[number]["id"];

const endpointsQuery = (appId: string) =>
  ({ queryKey: ["webhooks", appId], queryFn: () => api.webhooks.list.query({ appId }) }) as const;
const deliveriesQuery = (appId: string) =>
  ({
    queryKey: ["webhook-deliveries", appId],
    queryFn: () => api.webhooks.deliveries.query({ appId, limit: 50 }),
    refetchInterval: 3_000,
  }) as const;

export function WebhooksTab({ app }: { app: App }) {
  const endpoints = useQuery(endpointsQuery(app.id));
  const [secret, setSecret] = useState<{ title: string; value: string } | undefined>();
  const [deleting, setDeleting] = useState<Endpoint | undefined>();
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: ["webhooks", app.id] }),
      queryClient.invalidateQueries({ queryKey: ["webhook-deliveries", app.id] }),
    ]);
  const act = useMutation({
    mutationFn: async (a: { kind: "toggle" | "test" | "rotate" | "delete"; endpoint: Endpoint }) => {
      const ids = { appId: app.id, endpointId: a.endpoint.id };
      if (a.kind === "toggle") await api.webhooks.update.mutate({ ...ids, enabled: !a.endpoint.enabled });
      if (a.kind === "test") await api.webhooks.testSend.mutate(ids);
      if (a.kind === "delete") await api.webhooks.delete.mutate(ids);
      if (a.kind === "rotate") {
        const rotated = await api.webhooks.rotateSecret.mutate(ids);
        setSecret({ title: `New signing secret for ${a.endpoint.url}`, value: rotated.secret });
      }
    },
    onSuccess: async () => {
      setDeleting(undefined);
      await refresh();
    },
  });
  return (
    <div className="stack">
      <CreateEndpointForm
        appId={app.id}
        onCreated={async (url, value) => {
          setSecret({ title: `Signing secret for ${url}`, value });
          await refresh();
        }}
      />
      {secret && (
        <section className="card secret" aria-label="Webhook signing secret">
          <h2>{secret.title}</h2>
          <p>
            <strong>Copy it now: it is shown this once.</strong> Verify each request with it (
            <code>verifyWebhook</code> in <code>@relaybase/sdk/server</code>). After a rotation the old secret
            keeps signing for 24 h.
          </p>
          <Copyable value={secret.value} />
          <p>
            <button type="button" className="link" onClick={() => setSecret(undefined)}>
              I have stored it
            </button>
          </p>
        </section>
      )}
      {endpoints.isPending && <Loading what="Loading webhook endpoints" />}
      {endpoints.isError && <ErrorNote error={endpoints.error} retry={() => endpoints.refetch()} />}
      {endpoints.data && (
        <div className="card">
          <h2>Endpoints</h2>
          {endpoints.data.length === 0 ? (
            <Empty>No endpoints yet: add one above to receive events on your server.</Empty>
          ) : (
            <table className="keys">
              <thead>
                <tr>
                  <th scope="col">URL</th>
                  <th scope="col">Events</th>
                  <th scope="col">State</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {endpoints.data.map((e) => (
                  <tr key={e.id} data-endpoint-id={e.id}>
                    <td>
                      <code>{e.url}</code>
                    </td>
                    <td className="small">
                      {e.events.join(", ")}
                      {e.clientRooms.length > 0 && (
                        <span className="muted"> · rooms {e.clientRooms.join(", ")}</span>
                      )}
                    </td>
                    <td className="small">
                      <span className="badge">{e.enabled ? "enabled" : "disabled"}</span>
                      {e.disabledReason && <span className="muted"> · {e.disabledReason}</span>}
                      {e.failingSince && (
                        <span className="muted"> · failing since {formatDate(e.failingSince)}</span>
                      )}
                    </td>
                    <td>
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() => act.mutate({ kind: "test", endpoint: e })}
                      >
                        Send test
                      </button>{" "}
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() => act.mutate({ kind: "toggle", endpoint: e })}
                      >
                        {e.enabled ? "Disable" : "Enable"}
                      </button>{" "}
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() => act.mutate({ kind: "rotate", endpoint: e })}
                      >
                        Rotate secret
                      </button>{" "}
                      <button type="button" className="secondary small" onClick={() => setDeleting(e)}>
                        Delete…
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {act.isError && (
            <p className="note error" role="alert">
              {describeError(act.error)}
            </p>
          )}
        </div>
      )}
      <DeliveryLog app={app} />
      <ConfirmDialog
        open={deleting !== undefined}
        title={`Delete the endpoint ${deleting?.url ?? ""}?`}
        confirmLabel="Delete endpoint"
        busy={act.isPending}
        error={act.error ?? undefined}
        onConfirm={() => deleting && act.mutate({ kind: "delete", endpoint: deleting })}
        onClose={() => {
          setDeleting(undefined);
          act.reset();
        }}
      >
        <p>Its pending events and its delivery log go with it. This cannot be undone.</p>
      </ConfirmDialog>
    </div>
  );
}

function CreateEndpointForm({
  appId,
  onCreated,
}: {
  appId: string;
  onCreated: (url: string, secret: string) => void;
}) {
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<EventId[]>(["presence.member_added", "presence.member_removed"]);
  const [rooms, setRooms] = useState("");
  const create = useMutation({
    mutationFn: () =>
      api.webhooks.create.mutate({
        appId,
        url: url.trim(),
        events,
        clientRooms: rooms
          .split(/[\s,]+/)
          .map((r) => r.trim())
          .filter(Boolean),
      }),
    onSuccess: ({ endpoint, secret }) => {
      setUrl("");
      onCreated(endpoint.url, secret);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (url.trim() && events.length > 0) create.mutate();
  };
  return (
    <form className="card" onSubmit={submit}>
      <h2>Add an endpoint</h2>
      <Field label="URL" hint="https://, reachable from the internet (not a private address).">
        {(id) => (
          <input
            id={id}
            type="url"
            required
            placeholder="https://api.example.com/relaybase"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
          />
        )}
      </Field>
      <fieldset>
        <legend>Events</legend>
        {EVENTS.map((ev) => (
          <label key={ev.id} className="check">
            <input
              type="checkbox"
              checked={events.includes(ev.id)}
              onChange={(e) =>
                setEvents((list) => (e.target.checked ? [...list, ev.id] : list.filter((x) => x !== ev.id)))
              }
            />{" "}
            <code>{ev.label}</code>
          </label>
        ))}
      </fieldset>
      <Field label="Rooms for client.published" hint="Room names or prefixes ending in *, e.g. chat:*">
        {(id) => (
          <input id={id} placeholder="chat:*" value={rooms} onChange={(e) => setRooms(e.target.value)} />
        )}
      </Field>
      <button type="submit" disabled={create.isPending || events.length === 0}>
        {create.isPending ? "Adding…" : "Add endpoint"}
      </button>
      {create.isError && (
        <p className="note error" role="alert">
          {describeError(create.error)}
        </p>
      )}
    </form>
  );
}

function DeliveryLog({ app }: { app: App }) {
  const log = useQuery(deliveriesQuery(app.id));
  const replay = useMutation({
    mutationFn: async (d: Delivery | "dead") => {
      if (d === "dead") await api.webhooks.replayDead.mutate({ appId: app.id });
      else await api.webhooks.replay.mutate({ appId: app.id, deliveryId: d.id });
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["webhook-deliveries", app.id] }),
  });
  const dead = log.data?.deliveries.filter((d) => d.status === "dead").length ?? 0;
  return (
    <div className="card">
      <h2>Delivery log</h2>
      <p className="muted small">
        The last 50 deliveries of the past 7 days, newest first; refreshed every 3 s.
      </p>
      {log.isPending && <Loading what="Loading the delivery log" />}
      {log.isError && <ErrorNote error={log.error} retry={() => log.refetch()} />}
      {log.data && log.data.deliveries.length === 0 && <Empty>Nothing sent yet. Try “Send test”.</Empty>}
      {log.data && log.data.deliveries.length > 0 && (
        <div className="table-scroll">
          <table className="log">
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last answer</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {log.data.deliveries.map((d) => (
                <tr key={d.id} data-delivery-id={d.id}>
                  <td>
                    <code>{d.eventType}</code>
                    <div className="muted small">
                      {d.eventId} · {formatDate(d.createdAt)}
                    </div>
                  </td>
                  <td>
                    <span className={`badge ${d.status === "dead" ? "secret" : ""}`}>{d.status}</span>
                    {d.status === "pending" && d.nextAttemptAt && (
                      <div className="muted small">next {formatDate(d.nextAttemptAt)}</div>
                    )}
                  </td>
                  <td>{d.attempts}</td>
                  <td className="small">
                    {d.lastStatusCode ?? "—"}
                    {d.lastLatencyMs !== null && <span className="muted"> · {d.lastLatencyMs} ms</span>}
                    {d.lastError && <div className="muted">{d.lastError}</div>}
                    {d.lastResponse && d.lastResponse !== d.lastError && (
                      <div className="preview muted">{d.lastResponse.slice(0, 120)}</div>
                    )}
                  </td>
                  <td>
                    <button type="button" className="secondary small" onClick={() => replay.mutate(d)}>
                      Replay
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {dead > 0 && (
        <p>
          <button type="button" onClick={() => replay.mutate("dead")} disabled={replay.isPending}>
            Replay every dead-lettered delivery
          </button>
        </p>
      )}
      {replay.isError && (
        <p className="note error" role="alert">
          {describeError(replay.error)}
        </p>
      )}
    </div>
  );
}
