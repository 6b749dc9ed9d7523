import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, describeError } from "../api";
import { Empty, ErrorNote, Field, formatBytes, Loading } from "../ui";

/** How often the lists refresh while the page is open. */
const REFRESH_MS = 3_000;

/**
 * The app's rooms as the platform sees them now: occupied rooms with their subscribers on
 * every node, and one room's position (last offset, epoch) and recent history by offset
 * (`rooms.list`, `rooms.inspect`; docs/rooms.md).
 */
export function RoomInspector({ appId }: { appId: string }) {
  const [selected, setSelected] = useState<string | undefined>();
  const [name, setName] = useState("");
  const rooms = useQuery({
    queryKey: ["rooms", appId],
    queryFn: () => api.rooms.list.query({ appId }),
    refetchInterval: REFRESH_MS,
  });
  const inspect = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim()) setSelected(name.trim());
  };
  return (
    <section className="card" aria-label="Room inspector">
      <h2>Room inspector</h2>
      <form className="inline" onSubmit={inspect}>
        <Field label="Room to inspect">
          {(id) => (
            <input
              id={id}
              placeholder="chat:lobby"
              spellCheck={false}
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          )}
        </Field>
        <button type="submit" disabled={!name.trim()}>
          Inspect
        </button>
      </form>
      <h3>Occupied rooms</h3>
      {rooms.isPending ? (
        <Loading />
      ) : rooms.isError ? (
        <ErrorNote error={rooms.error} retry={() => rooms.refetch()} />
      ) : rooms.data.rooms.length === 0 ? (
        <Empty>No room has a subscriber right now.</Empty>
      ) : (
        <ul className="chips" aria-label="Occupied rooms">
          {rooms.data.rooms.map((r) => (
            <li key={r.room}>
              <button type="button" className="link" onClick={() => setSelected(r.room)}>
                <code>{r.room}</code>
              </button>
              <span className="muted small">
                {r.subscribers} subscriber{r.subscribers === 1 ? "" : "s"}
              </span>
            </li>
          ))}
        </ul>
      )}
      {rooms.data?.nextCursor && <p className="muted small">Showing the first 100 rooms by name.</p>}
      {selected && <RoomDetail key={selected} appId={appId} room={selected} />}
    </section>
  );
}

function RoomDetail({ appId, room }: { appId: string; room: string }) {
  const [before, setBefore] = useState<number[]>([]);
  const page = before.at(-1);
  const detail = useQuery({
    queryKey: ["room", appId, room, page],
    queryFn: () => api.rooms.inspect.query({ appId, room, ...(page === undefined ? {} : { before: page }) }),
    refetchInterval: page === undefined ? REFRESH_MS : false,
  });
  if (detail.isPending) return <Loading />;
  if (detail.isError) return <p className="note error">{describeError(detail.error)}</p>;
  const d = detail.data;
  return (
    <section className="stack" aria-label={`Room ${room}`}>
      <h3>
        <code>{d.room}</code>
      </h3>
      <dl className="facts">
        <div>
          <dt>Subscribers now</dt>
          <dd data-testid="room-subscribers">{d.subscribers}</dd>
        </div>
        <div>
          <dt>Last offset</dt>
          <dd data-testid="room-offset">{d.offset}</dd>
        </div>
        <div>
          <dt>Epoch</dt>
          <dd>
            <code>{d.epoch}</code>
          </dd>
        </div>
      </dl>
      {d.messages.length === 0 ? (
        <Empty>{page === undefined ? "Nothing in this room's history." : "No older messages kept."}</Empty>
      ) : (
        <div className="table-scroll">
          <table className="log" aria-label="Room history">
            <thead>
              <tr>
                <th scope="col">Offset</th>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">From</th>
                <th scope="col">Size</th>
                <th scope="col">Data</th>
              </tr>
            </thead>
            <tbody>
              {d.messages.map((m) => (
                <tr key={m.offset}>
                  <td>#{m.offset}</td>
                  <td className="muted">{new Date(m.ts).toLocaleTimeString()}</td>
                  <td>
                    <code>{m.event}</code>
                  </td>
                  <td className="muted small">{m.from ? (m.from.userId ?? "anonymous") : "REST"}</td>
                  <td className="muted">{formatBytes(m.size)}</td>
                  <td>
                    <code className="preview">
                      {m.preview}
                      {m.truncated ? "…" : ""}
                    </code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="row">
        {before.length > 0 && (
          <button type="button" className="secondary small" onClick={() => setBefore((b) => b.slice(0, -1))}>
            Newer
          </button>
        )}
        {d.olderBefore !== undefined && (
          <button
            type="button"
            className="secondary small"
            onClick={() => setBefore((b) => [...b, d.olderBefore as number])}
          >
            Older
          </button>
        )}
      </div>
      <p className="muted small">
        Newest first, by offset; only what the room's history keeps (the plan's history size and age).
      </p>
    </section>
  );
}
