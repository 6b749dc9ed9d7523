import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { Link } from "wouter";
import { describeError, runtimeConfigQuery } from "../api";
import { type Arrival, openLiveRoom } from "../live";
import { markStep, stepDone } from "../memory";
import { CodeBlock, Copyable, ErrorNote, Loading } from "../ui";
import { appsQuery, CreateAppForm } from "./apps";
import { keysQuery } from "./keys";
import { curlSnippet, snippetValues } from "./quickstart";

export const TEST_ROOM = "getting-started";

/** Re-renders when a checklist step is marked (by this page or another). */
function useOnboardingTick(): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    const bump = () => setTick((t) => t + 1);
    window.addEventListener("rb-onboarding", bump);
    window.addEventListener("storage", bump);
    return () => {
      window.removeEventListener("rb-onboarding", bump);
      window.removeEventListener("storage", bump);
    };
  }, []);
}

function Step({
  n,
  done,
  title,
  children,
}: {
  n: number;
  done: boolean;
  title: string;
  children: React.ReactNode;
}) {
  return (
    <li className={done ? "step done" : "step"} aria-label={`Step ${n}: ${title}${done ? " (done)" : ""}`}>
      <span className="tick" aria-hidden="true">
        {done ? "✓" : n}
      </span>
      <div>
        <h2>{title}</h2>
        {children}
      </div>
    </li>
  );
}

export function OnboardingPage() {
  useOnboardingTick();
  const apps = useQuery(appsQuery);
  const [chosen, setChosen] = useState<string | undefined>();
  if (apps.isPending) return <Loading />;
  if (apps.isError) return <ErrorNote error={apps.error} retry={() => apps.refetch()} />;
  const app = apps.data.find((a) => a.id === chosen) ?? apps.data[0];
  return (
    <section className="narrow">
      <h1>Get started</h1>
      <p className="muted">Four steps from an empty account to your first message delivered live.</p>
      {apps.data.length > 1 && (
        <p>
          <label>
            App:{" "}
            <select value={app?.id} onChange={(e) => setChosen(e.target.value)}>
              {apps.data.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name}
                </option>
              ))}
            </select>
          </label>
        </p>
      )}
      <ol className="checklist">
        <Step n={1} done={app !== undefined} title="Create an app">
          {app ? (
            <p>
              <Link href={`/apps/${app.id}/keys`}>{app.name}</Link> is ready.
            </p>
          ) : (
            <CreateAppForm onCreated={setChosen} />
          )}
        </Step>
        {app ? (
          <AppSteps appId={app.id} />
        ) : (
          <>
            <Step n={2} done={false} title="Copy your keys">
              <p className="muted">After step 1.</p>
            </Step>
            <Step n={3} done={false} title="Send a test event">
              <p className="muted">After step 1.</p>
            </Step>
            <Step n={4} done={false} title="See it arrive">
              <p className="muted">After step 1.</p>
            </Step>
          </>
        )}
      </ol>
    </section>
  );
}

function AppSteps({ appId }: { appId: string }) {
  const keys = useQuery(keysQuery(appId));
  const config = useQuery(runtimeConfigQuery);
  const apps = useQuery(appsQuery);
  const app = apps.data?.find((a) => a.id === appId);
  const pk = keys.data?.find((k) => k.kind === "publishable" && !k.revokedAt)?.publishableKey ?? undefined;
  const [arrivals, setArrivals] = useState<Arrival[]>([]);
  const [listening, setListening] = useState<"off" | "connecting" | "on" | "failed">("off");
  const [error, setError] = useState<unknown>();
  const [sending, setSending] = useState(false);
  const live = useRef<Awaited<ReturnType<typeof openLiveRoom>> | undefined>(undefined);
  const realtimeUrl = config.data?.realtimeUrl;

  // Listen as soon as the app has a key: whatever reaches the room (this page's test
  // event, a curl, your server) ticks "see it arrive".
  useEffect(() => {
    if (!pk || !realtimeUrl) return;
    let stopped = false;
    setListening("connecting");
    setArrivals([]);
    openLiveRoom({
      appId,
      publishableKey: pk,
      realtimeUrl,
      room: TEST_ROOM,
      onMessage: (arrival) => {
        markStep(appId, "received");
        setArrivals((list) => [arrival, ...list].slice(0, 20));
      },
    }).then(
      (opened) => {
        if (stopped) return opened.close();
        live.current = opened;
        setListening("on");
      },
      (err: unknown) => {
        if (stopped) return;
        setError(err);
        setListening("failed");
      },
    );
    return () => {
      stopped = true;
      live.current?.close();
      live.current = undefined;
    };
  }, [appId, pk, realtimeUrl]);

  const send = async () => {
    if (!live.current) return;
    setSending(true);
    setError(undefined);
    try {
      await live.current.room.publish("hello", {
        text: "Hello from the Relaybase console",
        at: new Date().toISOString(),
      });
      markStep(appId, "sent");
    } catch (err) {
      setError(err);
    } finally {
      setSending(false);
    }
  };

  if (keys.isPending || config.isPending) return <Loading />;
  if (keys.isError) return <ErrorNote error={keys.error} retry={() => keys.refetch()} />;
  if (config.isError) return <ErrorNote error={config.error} retry={() => config.refetch()} />;
  const copied = stepDone(appId, "copied");
  const sent = stepDone(appId, "sent") || arrivals.length > 0;
  const received = arrivals.length > 0;
  const curl = app && pk ? curlSnippet(snippetValues(app, pk, config.data)) : undefined;
  return (
    <>
      <Step n={2} done={copied} title="Copy your keys">
        {pk ? (
          <>
            <p>The publishable key goes into your web page or app:</p>
            <Copyable value={pk} onCopied={() => markStep(appId, "copied")} />
            <p className="muted">
              For your server, <Link href={`/apps/${appId}/keys`}>create a secret key</Link> (shown once).
            </p>
          </>
        ) : (
          <p>
            This app has no live publishable key. <Link href={`/apps/${appId}/keys`}>Create one</Link>.
          </p>
        )}
      </Step>
      <Step n={3} done={sent} title="Send a test event">
        {!realtimeUrl ? (
          <p className="note">The operator has not set REALTIME_PUBLIC_URL, so this page cannot connect.</p>
        ) : (
          <>
            <p>
              Publish <code>hello</code> to the room <code>{TEST_ROOM}</code> from this browser, through the
              SDK, as a client of your app would
              {app && !app.clientPublish ? "" : ", or from a terminal with your secret key"}:
            </p>
            <button
              type="button"
              onClick={send}
              disabled={listening !== "on" || sending || app?.clientPublish === false}
            >
              {sending ? "Sending…" : "Send a test event"}
            </button>
            {app?.clientPublish === false && (
              <p className="note">
                Client publishing is off for this app, so publish over REST instead (turn it on in{" "}
                <Link href={`/apps/${appId}/settings`}>settings</Link> to use the button).
              </p>
            )}
            {curl && <CodeBlock title="Or over REST" code={curl} />}
          </>
        )}
        {error !== undefined && <ErrorNote error={error} />}
      </Step>
      <Step n={4} done={received} title="See it arrive">
        <p className="muted" role="status" aria-live="polite">
          {listening === "on" && !received && `Listening on ${TEST_ROOM}…`}
          {listening === "connecting" && "Connecting…"}
          {listening === "failed" && `Could not subscribe: ${describeError(error)}`}
          {received && "It arrived. You are ready to build."}
        </p>
        {arrivals.length > 0 && (
          <ul className="arrivals" aria-label="Messages received">
            {arrivals.map((a) => (
              <li key={`${a.room}:${a.offset}`}>
                <code>
                  #{a.offset} {a.event}
                </code>{" "}
                <code className="muted">{JSON.stringify(a.data)}</code>
              </li>
            ))}
          </ul>
        )}
        {received && (
          <p>
            Next: <Link href={`/apps/${appId}/quickstart`}>the quickstart for your code</Link> and{" "}
            <Link href={`/apps/${appId}/usage`}>usage</Link>.
          </p>
        )}
      </Step>
    </>
  );
}
