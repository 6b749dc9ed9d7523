/**
 * The light load generator's clients (shared/BENCH.md rig rule 5): raw `ws` sockets that
 * speak just enough of each system's protocol to connect, subscribe and receive, so that
 * thousands of subscribers fit in one generator process on one core.
 *
 * Socket.IO (Relaybase, B1): Engine.IO v4 over WebSocket. `0{…}` open → `40{auth}` →
 * `40{sid}` connected (`44{…}` refused) → `420["subscribe",{"room":…}]` → ack `430[{…}]`;
 * ping `2` answered `3`; deliveries `42["message",{…}]`. B0: `{"sub":…}` → `{"ok":true}`,
 * then one JSON text frame per delivery.
 */
import WebSocket from "ws";

export type WireSystem = "relaybase" | "b1" | "b0";

export interface SubscriberSpec {
  system: WireSystem;
  /** The server's http:// url. */
  url: string;
  room: string;
  /** Socket.IO handshake `auth` (Relaybase: `{ key, token? }`). */
  auth?: Record<string, string>;
}

export interface LightSocket {
  close(): void;
}

/** The fields the generator stamps into `data`: sequence, scheduled send time, step. */
const STAMP = /"s":(\d+),"t":([0-9.]+),"r":(\d+)/;

export interface Stamp {
  s: number;
  t: number;
  r: number;
}

/** Reads the stamp out of a delivery without parsing the whole frame. */
export function readStamp(text: string): Stamp | undefined {
  const m = STAMP.exec(text);
  return m ? { s: Number(m[1]), t: Number(m[2]), r: Number(m[3]) } : undefined;
}

function wsUrl(spec: SubscriberSpec): string {
  const base = spec.url.replace(/^http/, "ws").replace(/\/$/, "");
  return spec.system === "b0" ? `${base}/` : `${base}/socket.io/?EIO=4&transport=websocket`;
}

/**
 * Connects and subscribes; resolves once the subscribe is acknowledged. `onDelivery` gets
 * every later data frame's text; `onClose` a close after that.
 */
export function subscribe(
  spec: SubscriberSpec,
  handlers: { onDelivery?: (text: string) => void; onClose?: () => void } = {},
  timeoutMs = 20_000,
): Promise<LightSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(spec), { perMessageDeflate: false });
    let subscribed = false;
    const fail = (why: string) => {
      clearTimeout(timer);
      if (subscribed) return;
      ws.terminate();
      reject(new Error(`${spec.system} ${spec.url}: ${why}`));
    };
    const timer = setTimeout(() => fail("timed out"), timeoutMs);
    const done = () => {
      subscribed = true;
      clearTimeout(timer);
      resolve({
        close: () => {
          // A Socket.IO client leaving says so (a disconnect packet), as the SDK's close()
          // does; a bare TCP close is a dropped connection, which a server with connection
          // state recovery must keep a session for (Relaybase does; B1 has no recovery).
          if (spec.system !== "b0" && ws.readyState === WebSocket.OPEN) ws.send("41", () => ws.terminate());
          else ws.terminate();
        },
      });
    };
    ws.on("error", (err) => fail(err.message));
    ws.on("close", () => {
      if (subscribed) handlers.onClose?.();
      else fail("closed before the subscribe ack");
    });
    if (spec.system === "b0") {
      ws.on("open", () => ws.send(JSON.stringify({ sub: spec.room })));
      ws.on("message", (raw) => {
        const text = String(raw);
        if (!subscribed) {
          if (text === '{"ok":true}') done();
          else fail(`unexpected ${text.slice(0, 100)}`);
          return;
        }
        handlers.onDelivery?.(text);
      });
      return;
    }
    ws.on("message", (raw) => {
      const text = String(raw);
      switch (text.charCodeAt(0)) {
        case 50: // "2" ping
          ws.send("3");
          return;
        case 48: // "0" open
          ws.send(`40${spec.auth ? JSON.stringify(spec.auth) : ""}`);
          return;
        case 52: // "4" message
          break;
        default:
          return;
      }
      if (text.startsWith("42")) {
        handlers.onDelivery?.(text);
      } else if (text.startsWith("40")) {
        ws.send(`420${JSON.stringify(["subscribe", { room: spec.room }])}`);
      } else if (text.startsWith("430")) {
        if (text.includes('"ok":true')) done();
        else fail(`subscribe refused: ${text.slice(0, 200)}`);
      } else if (text.startsWith("44")) {
        fail(`connect refused: ${text.slice(0, 200)}`);
      }
    });
  });
}
