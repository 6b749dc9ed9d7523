import { useMutation, useQuery } from "@tanstack/react-query";
import { type FormEvent, lazy, Suspense, useEffect, useState } from "react";
import { Link, Redirect, useLocation } from "wouter";
import { type App, api, describeError, queryClient } from "../api";
import { capsToText, OPS, textToCaps } from "../caps";
import { ConfirmDialog, ErrorNote, Field, formatBytes, formatNumber, Loading } from "../ui";
import { KeysTab } from "./keys";
import { QuickstartTab } from "./quickstart";

// The charts library loads with the usage tab only.
const UsageTab = lazy(() => import("./usage").then((m) => ({ default: m.UsageTab })));
const DebugTab = lazy(() => import("./debug").then((m) => ({ default: m.DebugTab })));
const WebhooksTab = lazy(() => import("./webhooks").then((m) => ({ default: m.WebhooksTab })));

const TABS = [
  { id: "keys", label: "Keys" },
  { id: "quickstart", label: "Quickstart" },
  { id: "usage", label: "Usage" },
  { id: "debug", label: "Debug" },
  { id: "hooks", label: "Webhooks" },
  { id: "settings", label: "Settings" },
] as const;

export const appQuery = (appId: string) =>
  ({ queryKey: ["app", appId], queryFn: () => api.apps.get.query({ appId }) }) as const;

export function AppPage({ appId, tab }: { appId: string; tab: string | undefined }) {
  const app = useQuery(appQuery(appId));
  if (!tab) return <Redirect to={`/apps/${appId}/keys`} replace />;
  if (app.isPending) return <Loading what="Loading the app" />;
  if (app.isError) {
    return (
      <section>
        <p>
          <Link href="/apps">← Apps</Link>
        </p>
        <ErrorNote error={app.error} retry={() => app.refetch()} />
      </section>
    );
  }
  return (
    <section>
      <p className="crumbs">
        <Link href="/apps">Apps</Link> / <span>{app.data.name}</span>
      </p>
      <h1>
        {app.data.name} <code className="muted small">{app.data.id}</code>
      </h1>
      <nav className="tabs" aria-label="App">
        {TABS.map((t) => (
          <Link key={t.id} href={`/apps/${appId}/${t.id}`} aria-current={tab === t.id ? "page" : undefined}>
            {t.label}
          </Link>
        ))}
      </nav>
      {tab === "keys" && <KeysTab app={app.data} />}
      {tab === "quickstart" && <QuickstartTab app={app.data} />}
      {tab === "usage" && (
        <Suspense fallback={<Loading what="Loading usage" />}>
          <UsageTab app={app.data} />
        </Suspense>
      )}
      {tab === "debug" && (
        <Suspense fallback={<Loading what="Loading the debugger" />}>
          <DebugTab app={app.data} />
        </Suspense>
      )}
      {tab === "hooks" && (
        <Suspense fallback={<Loading what="Loading webhooks" />}>
          <WebhooksTab app={app.data} />
        </Suspense>
      )}
      {tab === "settings" && <SettingsTab app={app.data} />}
      {!TABS.some((t) => t.id === tab) && <Redirect to={`/apps/${appId}/keys`} replace />}
    </section>
  );
}

function SettingsTab({ app }: { app: App }) {
  const [, navigate] = useLocation();
  const [name, setName] = useState(app.name);
  const [origins, setOrigins] = useState(app.allowedOrigins.join("\n"));
  const [caps, setCaps] = useState(capsToText(app.anonymousCaps));
  const [clientPublish, setClientPublish] = useState(app.clientPublish);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    setName(app.name);
    setOrigins(app.allowedOrigins.join("\n"));
    setCaps(capsToText(app.anonymousCaps));
    setClientPublish(app.clientPublish);
  }, [app]);
  const parsedCaps = textToCaps(caps);
  const update = useMutation({
    mutationFn: () =>
      api.apps.update.mutate({
        appId: app.id,
        name: name.trim(),
        allowedOrigins: origins
          .split(/[\s,]+/)
          .map((o) => o.trim())
          .filter(Boolean),
        anonymousCaps: parsedCaps.caps ?? {},
        clientPublish,
      }),
    onSuccess: (updated) => {
      queryClient.setQueryData(["app", app.id], updated);
      void queryClient.invalidateQueries({ queryKey: ["apps"] });
      setSaved(true);
    },
  });
  const remove = useMutation({
    mutationFn: () => api.apps.delete.mutate({ appId: app.id }),
    onSuccess: async () => {
      queryClient.removeQueries({ queryKey: ["app", app.id] });
      await queryClient.invalidateQueries({ queryKey: ["apps"] });
      navigate("/apps", { replace: true });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    if (!parsedCaps.error && name.trim()) update.mutate();
  };
  return (
    <div className="stack">
      <form className="card" onSubmit={submit}>
        <h2>Settings</h2>
        <Field label="Name">
          {(id) => <input id={id} maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field
          label="Allowed origins"
          hint="One per line, e.g. https://app.example.com or https://*.example.com. Empty: any origin may connect."
        >
          {(id) => (
            <textarea
              id={id}
              rows={3}
              spellCheck={false}
              value={origins}
              onChange={(e) => setOrigins(e.target.value)}
            />
          )}
        </Field>
        <Field
          label="Anonymous capabilities"
          hint={`What a client with only the publishable key may do. One pattern per line, then operations (${OPS.join(", ")}), e.g. "public:* subscribe". Empty: nothing without a token.`}
        >
          {(id) => (
            <textarea
              id={id}
              rows={3}
              spellCheck={false}
              aria-invalid={parsedCaps.error !== undefined}
              value={caps}
              onChange={(e) => setCaps(e.target.value)}
            />
          )}
        </Field>
        {parsedCaps.error && (
          <p className="note error" role="alert">
            {parsedCaps.error}
          </p>
        )}
        <label className="check">
          <input
            type="checkbox"
            checked={clientPublish}
            onChange={(e) => setClientPublish(e.target.checked)}
          />
          Clients may publish (with a token that allows it). Off: only your servers publish, over REST.
        </label>
        {update.isError && (
          <p className="note error" role="alert">
            {describeError(update.error)}
          </p>
        )}
        {saved && !update.isPending && (
          <p className="note ok" role="status">
            Saved. Realtime nodes apply the change within seconds.
          </p>
        )}
        <div className="row">
          <button type="submit" disabled={update.isPending || parsedCaps.error !== undefined || !name.trim()}>
            {update.isPending ? "Saving…" : "Save settings"}
          </button>
        </div>
      </form>
      <LimitsCard appId={app.id} />
      <div className="card danger-zone">
        <h2>Delete this app</h2>
        <p>Its keys stop working at once; connected clients are refused on their next connection.</p>
        <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
          Delete app…
        </button>
      </div>
      <ConfirmDialog
        open={confirmDelete}
        title={`Delete ${app.name}?`}
        confirmLabel="Delete app"
        confirmText={app.name}
        busy={remove.isPending}
        error={remove.error ?? undefined}
        onConfirm={() => remove.mutate()}
        onClose={() => setConfirmDelete(false)}
      >
        <p>This deletes the app, its keys and its usage history. It cannot be undone.</p>
      </ConfirmDialog>
    </div>
  );
}

const LIMIT_LABELS: Record<string, [string, (n: number) => string]> = {
  maxConnections: ["Concurrent connections", formatNumber],
  messagesPerDay: ["Messages per day", formatNumber],
  maxMessageBytes: ["Message size", formatBytes],
  clientPublishesPerSecond: ["Client publishes / s / connection", formatNumber],
  restPublishesPerSecond: ["REST publishes / s", formatNumber],
  roomsPerConnection: ["Rooms per connection", formatNumber],
  connectionsPerSecondPerIp: ["New connections / s / IP", formatNumber],
  historySize: ["History kept per room", (n) => `${formatNumber(n)} messages`],
  historyTtlSeconds: ["History kept for", (n) => `${formatNumber(n)} s`],
};

function LimitsCard({ appId }: { appId: string }) {
  const limits = useQuery({ queryKey: ["limits", appId], queryFn: () => api.apps.limits.query({ appId }) });
  return (
    <div className="card">
      <h2>Limits in force</h2>
      {limits.isPending && <Loading />}
      {limits.isError && <ErrorNote error={limits.error} retry={() => limits.refetch()} />}
      {limits.data && (
        <>
          <p className="muted">
            The <strong>{limits.data.plan}</strong> plan
            {limits.data.overridden.length > 0 ? ", with limits the operator set for this app (marked)" : ""}.{" "}
            <Link href="/billing">Change plan</Link>
          </p>
          <table>
            <tbody>
              {Object.entries(limits.data.limits).map(([key, value]) => {
                const [label, format] = LIMIT_LABELS[key] ?? [key, formatNumber];
                return (
                  <tr key={key}>
                    <th scope="row">{label}</th>
                    <td>
                      {format(value)}
                      {limits.data.overridden.includes(key) && <span className="badge">override</span>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
