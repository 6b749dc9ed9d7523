import type { RelaybaseClient } from "@relaybase/sdk";
import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useEffect, useRef, useState } from "react";
import { Link } from "wouter";
import { type App, describeError, runtimeConfigQuery } from "../api";
import { type Arrival, listen, openLiveClient } from "../live";
import { usePausableRows } from "../pausable-rows";
import { Empty, ErrorNote, Field, formatBytes, Loading } from "../ui";
import { keysQuery } from "./keys";
import { LiveTail } from "./live-tail";
import { RoomInspector } from "./room-inspector";

/** Rows kept (and buffered while paused); older ones fall off. */
const BUFFER = 500;
const PREVIEW_CHARS = 160;

interface Row extends Arrival {
  seq: number;
  size: number;
  preview: string;
}

let seq = 0;
function toRow(a: Arrival): Row {
  const json = JSON.stringify(a.data) ?? "null";
  return {
    ...a,
    seq: ++seq,
    size: new TextEncoder().encode(json).length,
    preview: json.length > PREVIEW_CHARS ? `${json.slice(0, PREVIEW_CHARS)}…` : json,
  };
}

/**
 * The app's live tail (connections, subscribes, publishes, refusals, from every node),
 * watched rooms and an event creator, all through the platform's own realtime path: the
 * SDK with a debug token for the tail, a console token for the rest (docs/console.md).
 */
export function DebugTab({ app }: { app: App }) {
  const config = useQuery(runtimeConfigQuery);
  const keys = useQuery(keysQuery(app.id));
  const pk = keys.data?.find((k) => k.kind === "publishable" && !k.revokedAt)?.publishableKey ?? undefined;
  const realtimeUrl = config.data?.realtimeUrl ?? undefined;
  const [client, setClient] = useState<RelaybaseClient | undefined>();
  const [state, setState] = useState("connecting");
  const [openError, setOpenError] = useState<unknown>();

  useEffect(() => {
    if (!pk || !realtimeUrl) return;
    let stopped = false;
    let opened: RelaybaseClient | undefined;
    openLiveClient({ appId: app.id, publishableKey: pk, realtimeUrl, onState: setState }).then(
      (c) => {
        if (stopped) return c.close();
        opened = c;
        setClient(c);
      },
      (err: unknown) => setOpenError(err),
    );
    return () => {
      stopped = true;
      opened?.close();
      setClient(undefined);
    };
  }, [app.id, pk, realtimeUrl]);

  if (keys.isPending || config.isPending) return <Loading />;
  if (keys.isError) return <ErrorNote error={keys.error} retry={() => keys.refetch()} />;
  if (config.isError) return <ErrorNote error={config.error} retry={() => config.refetch()} />;
  if (!realtimeUrl)
    return <p className="note">The operator has not set REALTIME_PUBLIC_URL, so this page cannot connect.</p>;
  if (!pk) {
    return (
      <p className="note">
        This app has no live publishable key. <Link href={`/apps/${app.id}/keys`}>Create one</Link>.
      </p>
    );
  }
  if (openError) return <ErrorNote error={openError} />;
  return (
    <div className="stack">
      <LiveTail appId={app.id} publishableKey={pk} realtimeUrl={realtimeUrl} />
      {client ? (
        <Debugger client={client} state={state} clientPublish={app.clientPublish} appId={app.id} />
      ) : (
        <Loading what="Connecting" />
      )}
      <RoomInspector appId={app.id} />
    </div>
  );
}

function Debugger({
  client,
  state,
  clientPublish,
  appId,
}: {
  client: RelaybaseClient;
  state: string;
  clientPublish: boolean;
  appId: string;
}) {
  const [watched, setWatched] = useState<string[]>([]);
  const { rows, paused, heldCount, add: addRows, togglePause, clear } = usePausableRows<Row>(BUFFER);
  const stops = useRef(new Map<string, () => void>());
  const [filterRoom, setFilterRoom] = useState("");
  const [filterEvent, setFilterEvent] = useState("");
  const [watchError, setWatchError] = useState<unknown>();

  useEffect(
    () => () => {
      for (const stop of stops.current.values()) stop();
    },
    [],
  );

  const add = (a: Arrival) => addRows([toRow(a)]);

  const watch = async (name: string): Promise<boolean> => {
    if (stops.current.has(name)) return true;
    setWatchError(undefined);
    const room = client.room(name);
    const stop = listen(room, add);
    try {
      await room.subscribe();
    } catch (err) {
      stop();
      setWatchError(err);
      return false;
    }
    stops.current.set(name, () => {
      stop();
      void room.unsubscribe();
    });
    setWatched((list) => [...list, name]);
    return true;
  };
  const unwatch = (name: string) => {
    stops.current.get(name)?.();
    stops.current.delete(name);
    setWatched((list) => list.filter((r) => r !== name));
  };

  const shown = rows.filter(
    (r) => (!filterRoom || r.room.includes(filterRoom)) && (!filterEvent || r.event.includes(filterEvent)),
  );
  return (
    <div className="stack">
      <p className="muted">
        Watch rooms and publish to them from here, through the same SDK and realtime path as your clients (as{" "}
        <code>console:you</code>, with a 10-minute token). Connection: <strong>{state}</strong>.
      </p>
      <div className="card">
        <h2>Watch rooms</h2>
        <WatchForm onWatch={watch} />
        {watchError !== undefined && <ErrorNote error={watchError} />}
        {watched.length > 0 && (
          <ul className="chips" aria-label="Watched rooms">
            {watched.map((name) => (
              <li key={name}>
                <code>{name}</code>
                <button
                  type="button"
                  className="link"
                  aria-label={`Stop watching ${name}`}
                  onClick={() => unwatch(name)}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
      <EventCreator
        appId={appId}
        clientPublish={clientPublish}
        publish={async (room, event, data) => {
          if (!(await watch(room))) throw new Error(`Cannot watch ${room}`);
          return client.room(room).publish(event, data);
        }}
      />
      <div className="card">
        <div className="row between">
          <h2>Messages</h2>
          <div className="row">
            <button type="button" className="secondary small" onClick={togglePause} aria-pressed={paused}>
              {paused ? `Resume${heldCount ? ` (${heldCount} new)` : ""}` : "Pause"}
            </button>
            <button type="button" className="secondary small" onClick={clear}>
              Clear
            </button>
          </div>
        </div>
        <div className="row filters">
          <Field label="Room contains">
            {(id) => <input id={id} value={filterRoom} onChange={(e) => setFilterRoom(e.target.value)} />}
          </Field>
          <Field label="Event contains">
            {(id) => <input id={id} value={filterEvent} onChange={(e) => setFilterEvent(e.target.value)} />}
          </Field>
        </div>
        {shown.length === 0 ? (
          <Empty>{watched.length === 0 ? "Watch a room to see its messages here." : "Nothing yet."}</Empty>
        ) : (
          <div className="table-scroll">
            <table className="log" aria-label="Messages">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Room</th>
                  <th scope="col">Offset</th>
                  <th scope="col">Event</th>
                  <th scope="col">From</th>
                  <th scope="col">Size</th>
                  <th scope="col">Data</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((r) => (
                  <tr key={r.seq}>
                    <td className="muted">{new Date(r.ts).toLocaleTimeString()}</td>
                    <td>
                      <code>{r.room}</code>
                    </td>
                    <td>#{r.offset}</td>
                    <td>
                      <code>{r.event}</code>
                    </td>
                    <td className="muted small">{r.from ? (r.from.userId ?? "anonymous") : "REST"}</td>
                    <td className="muted">{formatBytes(r.size)}</td>
                    <td>
                      <code className="preview">{r.preview}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <p className="muted small">The newest {BUFFER} messages are kept; older ones fall off.</p>
      </div>
    </div>
  );
}

function WatchForm({ onWatch }: { onWatch: (room: string) => Promise<boolean> }) {
  const [room, setRoom] = useState("");
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (room.trim() && (await onWatch(room.trim()))) setRoom("");
  };
  return (
    <form className="inline" onSubmit={submit}>
      <Field label="Room to watch">
        {(id) => (
          <input
            id={id}
            placeholder="chat:lobby"
            spellCheck={false}
            value={room}
            onChange={(e) => setRoom(e.target.value)}
          />
        )}
      </Field>
      <button type="submit" disabled={!room.trim()}>
        Watch
      </button>
    </form>
  );
}

function EventCreator({
  appId,
  clientPublish,
  publish,
}: {
  appId: string;
  clientPublish: boolean;
  publish: (room: string, event: string, data: unknown) => Promise<{ offset: number }>;
}) {
  const [room, setRoom] = useState("");
  const [event, setEvent] = useState("");
  const [data, setData] = useState('{ "text": "hello" }');
  const [result, setResult] = useState<{ ok: string } | { error: unknown } | undefined>();
  const [busy, setBusy] = useState(false);
  let parsed: { value?: unknown; error?: string };
  try {
    parsed = { value: JSON.parse(data) };
  } catch (err) {
    parsed = { error: err instanceof Error ? err.message : "not JSON" };
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (parsed.error !== undefined) return;
    setBusy(true);
    setResult(undefined);
    try {
      const ack = await publish(room.trim(), event.trim(), parsed.value);
      setResult({ ok: `Published to ${room.trim()} at offset ${ack.offset}.` });
    } catch (err) {
      setResult({ error: err });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Event creator">
      <h2>Event creator</h2>
      {!clientPublish && (
        <p className="note">
          Client publishing is off for this app, so the console cannot publish (it is a client).{" "}
          <Link href={`/apps/${appId}/settings`}>Turn it on</Link> or publish over REST.
        </p>
      )}
      <div className="row filters">
        <Field label="Room">
          {(id) => (
            <input
              id={id}
              placeholder="chat:lobby"
              spellCheck={false}
              value={room}
              onChange={(e) => setRoom(e.target.value)}
            />
          )}
        </Field>
        <Field label="Event">
          {(id) => (
            <input
              id={id}
              placeholder="message"
              spellCheck={false}
              value={event}
              onChange={(e) => setEvent(e.target.value)}
            />
          )}
        </Field>
      </div>
      <Field label="Data (JSON)">
        {(id) => (
          <textarea
            id={id}
            rows={3}
            spellCheck={false}
            aria-invalid={parsed.error !== undefined}
            value={data}
            onChange={(e) => setData(e.target.value)}
          />
        )}
      </Field>
      {parsed.error !== undefined && (
        <p className="note error" role="alert">
          Not JSON: {parsed.error}
        </p>
      )}
      {result && "ok" in result && (
        <p className="note ok" role="status">
          {result.ok}
        </p>
      )}
      {result && "error" in result && (
        <p className="note error" role="alert">
          {describeError(result.error)}
        </p>
      )}
      <button
        type="submit"
        disabled={busy || !room.trim() || !event.trim() || parsed.error !== undefined || !clientPublish}
      >
        {busy ? "Publishing…" : "Publish"}
      </button>
    </form>
  );
}
