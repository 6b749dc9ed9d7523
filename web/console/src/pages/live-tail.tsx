import {
  DEBUG_EVENT_KINDS,
  DEBUG_EVENTS_PER_SECOND,
  type DebugEvent,
  type DebugEventKind,
} from "@relaybase/sdk";
import { useEffect, useState } from "react";
import { openDebugTail } from "../live";
import { usePausableRows } from "../pausable-rows";
import { Empty, ErrorNote, Field, formatBytes } from "../ui";

/** Rows kept (and held while paused); older ones fall off. */
const BUFFER = 500;

interface Row extends DebugEvent {
  seq: number;
}

let seq = 0;

/**
 * The app's traffic as the platform reports it: connections and disconnections (with the
 * reason code), subscribes, client and REST publishes and refusals, across every node.
 * Its own connection, with a debug token (docs/console.md#the-debug-console).
 */
export function LiveTail({
  appId,
  publishableKey,
  realtimeUrl,
}: {
  appId: string;
  publishableKey: string;
  realtimeUrl: string;
}) {
  const [state, setState] = useState("connecting");
  const [openError, setOpenError] = useState<unknown>();
  /** Subscribed: from here on the tail hears everything (under the cap). */
  const [watching, setWatching] = useState(false);
  const { rows, paused, heldCount, add, togglePause, clear } = usePausableRows<Row>(BUFFER);
  const [kind, setKind] = useState<"" | DebugEventKind>("");
  const [room, setRoom] = useState("");
  const [event, setEvent] = useState("");

  useEffect(() => {
    let stopped = false;
    let close: (() => void) | undefined;
    // Many events a second: gathered and rendered once a frame, not once each.
    let pending: Row[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const batch = pending.reverse();
      pending = [];
      add(batch);
    };
    openDebugTail({
      appId,
      publishableKey,
      realtimeUrl,
      onState: setState,
      onEvent: (e) => {
        pending.push({ ...e, seq: ++seq });
        if (pending.length > BUFFER) pending.shift();
        if (!frame) frame = requestAnimationFrame(flush);
      },
    }).then(
      (tail) => {
        if (stopped) tail.close();
        else {
          close = tail.close;
          setWatching(true);
        }
      },
      (err: unknown) => setOpenError(err),
    );
    return () => {
      stopped = true;
      if (frame) cancelAnimationFrame(frame);
      close?.();
    };
  }, [appId, publishableKey, realtimeUrl, add]);

  const shown = rows.filter(
    (r) =>
      (!kind || r.kind === kind) &&
      (!room || (r.room ?? "").includes(room)) &&
      (!event || (r.event ?? "").includes(event)),
  );
  return (
    <section className="card" aria-label="Live tail">
      <div className="row between">
        <h2>Live tail</h2>
        <div className="row">
          <span className="muted small" data-testid="tail-state">
            Tail: <strong>{watching && state === "connected" ? "watching" : state}</strong>
          </span>
          <button type="button" className="secondary small" onClick={togglePause} aria-pressed={paused}>
            {paused ? `Resume tail${heldCount ? ` (${heldCount} new)` : ""}` : "Pause tail"}
          </button>
          <button type="button" className="secondary small" onClick={clear}>
            Clear tail
          </button>
        </div>
      </div>
      <p className="muted small">
        Everything the platform sees of this app, from every node: connections, subscribes, publishes (client
        and REST) and refusals with their codes. At most {DEBUG_EVENTS_PER_SECOND} events a second from each
        server; the rest are counted as dropped.
      </p>
      {openError !== undefined && <ErrorNote error={openError} />}
      <div className="row filters">
        <Field label="Kind">
          {(id) => (
            <select id={id} value={kind} onChange={(e) => setKind(e.target.value as "" | DebugEventKind)}>
              <option value="">All</option>
              {DEBUG_EVENT_KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Filter tail by room">
          {(id) => <input id={id} value={room} onChange={(e) => setRoom(e.target.value)} />}
        </Field>
        <Field label="Filter tail by event">
          {(id) => <input id={id} value={event} onChange={(e) => setEvent(e.target.value)} />}
        </Field>
      </div>
      {shown.length === 0 ? (
        <Empty>
          {rows.length === 0 ? "Waiting for traffic. Connect a client or publish." : "Nothing matches."}
        </Empty>
      ) : (
        <div className="table-scroll">
          <table className="log" aria-label="Live tail events">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Kind</th>
                <th scope="col">Room</th>
                <th scope="col">Who</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => (
                <tr key={r.seq} className={`kind-${r.kind}`}>
                  <td className="muted">{new Date(r.ts).toLocaleTimeString()}</td>
                  <td>
                    <span className="badge">{r.kind}</span>
                  </td>
                  <td>{r.room ? <code>{r.room}</code> : r.user ? <code>user {r.user}</code> : ""}</td>
                  <td className="muted small">{who(r)}</td>
                  <td>
                    <Detail row={r} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted small">The newest {BUFFER} events are kept; older ones fall off.</p>
    </section>
  );
}

function who(r: DebugEvent): string {
  if (r.kind === "publish" && r.source !== "client") return r.source === "batch" ? "REST batch" : "REST";
  if (r.kind === "dropped") return r.node;
  const user = r.userId ?? (r.connectionId ? "anonymous" : "");
  return r.connectionId ? `${user} · ${r.connectionId.slice(0, 8)}` : user;
}

function Detail({ row: r }: { row: DebugEvent }) {
  switch (r.kind) {
    case "publish":
      return (
        <>
          <code>{r.event}</code> #{r.offset ?? "–"} · {formatBytes(r.size ?? 0)}{" "}
          <code className="preview">
            {r.preview}
            {r.truncated ? "…" : ""}
          </code>
        </>
      );
    case "refused":
      return (
        <>
          {r.request} → <code>{r.code}</code>
        </>
      );
    case "disconnect":
      return (
        <>
          {r.reason}
          {r.code ? (
            <>
              {" "}
              · <code>{r.code}</code>
            </>
          ) : null}
        </>
      );
    case "connect":
      return <>{r.transport}</>;
    case "dropped":
      return <>{r.count} events dropped (over the cap)</>;
    default:
      return null;
  }
}
