import { useMutation, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link } from "wouter";
import { type App, api, describeError, type Key, queryClient } from "../api";
import { forgetSecret, markStep, rememberSecret } from "../memory";
import { ConfirmDialog, Copyable, Empty, ErrorNote, Field, formatDate, Loading } from "../ui";

export const keysQuery = (appId: string) =>
  ({ queryKey: ["keys", appId], queryFn: () => api.keys.list.query({ appId }) }) as const;

export function KeysTab({ app }: { app: App }) {
  const keys = useQuery(keysQuery(app.id));
  const [created, setCreated] = useState<{ key: Omit<Key, "lastUsedAt">; secret: string } | undefined>();
  const [revoking, setRevoking] = useState<Key | undefined>();
  const revoke = useMutation({
    mutationFn: (key: Key) => api.keys.revoke.mutate({ appId: app.id, keyId: key.id }),
    onSuccess: async (key) => {
      forgetSecret(app.id, key.id);
      if (created?.key.id === key.id) setCreated(undefined);
      setRevoking(undefined);
      await queryClient.invalidateQueries({ queryKey: ["keys", app.id] });
    },
  });
  const live = keys.data?.filter((k) => !k.revokedAt) ?? [];
  const revoked = keys.data?.filter((k) => k.revokedAt) ?? [];
  return (
    <div className="stack">
      <CreateKeyForm
        appId={app.id}
        onCreated={(key, secret) => {
          if (secret) {
            rememberSecret(app.id, key.id, secret);
            setCreated({ key, secret });
          }
        }}
      />
      {created && (
        <section className="card secret" aria-label="New secret key">
          <h2>Your new secret key “{created.key.name}”</h2>
          <p>
            <strong>Copy it now: it is shown this once.</strong> Relaybase keeps only its hash. Keep it on
            your servers (an environment variable), never in a browser or an app bundle.
          </p>
          <Copyable value={created.secret} onCopied={() => markStep(app.id, "copied")} />
          <p className="muted">
            Next: <Link href={`/apps/${app.id}/quickstart`}>publish with it</Link>.{" "}
            <button type="button" className="link" onClick={() => setCreated(undefined)}>
              I have stored it
            </button>
          </p>
        </section>
      )}
      {keys.isPending && <Loading what="Loading keys" />}
      {keys.isError && <ErrorNote error={keys.error} retry={() => keys.refetch()} />}
      {keys.data && (
        <div className="card">
          <h2>Live keys</h2>
          {live.length === 0 ? (
            <Empty>No live keys: clients and servers of this app cannot connect. Create one above.</Empty>
          ) : (
            <table className="keys">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Key</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {live.map((key) => (
                  <tr key={key.id} data-key-id={key.id}>
                    <td>
                      {key.name}
                      <span className={`badge ${key.kind}`}>{key.kind}</span>
                    </td>
                    <td>
                      {key.publishableKey ? (
                        <Copyable value={key.publishableKey} onCopied={() => markStep(app.id, "copied")} />
                      ) : (
                        <code title="Secret keys are shown once, when created">{key.secretPreview}</code>
                      )}
                    </td>
                    <td className="muted">{formatDate(key.createdAt)}</td>
                    <td className="muted" data-testid="key-last-used">
                      {key.lastUsedAt ? formatDate(key.lastUsedAt) : "Never"}
                    </td>
                    <td>
                      <button type="button" className="secondary small" onClick={() => setRevoking(key)}>
                        Revoke…
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <p className="muted small">
            Publishable keys (<code>pk_…</code>) identify the app in browsers and apps; they allow only what
            the app's anonymous capabilities and your tokens allow. Secret keys (<code>sk_…</code>) publish
            and mint tokens from your servers. Keep several live to rotate: create the new one, deploy it,
            revoke the old.
          </p>
        </div>
      )}
      {revoked.length > 0 && (
        <details className="card">
          <summary>Revoked keys ({revoked.length})</summary>
          <ul className="list compact">
            {revoked.map((key) => (
              <li key={key.id}>
                <span>{key.name}</span>
                <code className="muted">{key.publishableKey ?? key.secretPreview}</code>
                <span className="muted">revoked {formatDate(key.revokedAt ?? key.createdAt)}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
      <ConfirmDialog
        open={revoking !== undefined}
        title={`Revoke “${revoking?.name ?? ""}”?`}
        confirmLabel="Revoke key"
        busy={revoke.isPending}
        error={revoke.error ?? undefined}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        onClose={() => {
          setRevoking(undefined);
          revoke.reset();
        }}
      >
        <p>
          {revoking?.kind === "secret"
            ? "Servers using it get INVALID_KEY on their next request."
            : "Clients using it are refused on their next connection."}{" "}
          This cannot be undone.
        </p>
      </ConfirmDialog>
    </div>
  );
}

function CreateKeyForm({
  appId,
  onCreated,
}: {
  appId: string;
  onCreated: (key: Omit<Key, "lastUsedAt">, secret: string | null) => void;
}) {
  const [kind, setKind] = useState<"secret" | "publishable">("secret");
  const [name, setName] = useState("");
  const create = useMutation({
    mutationFn: () => api.keys.create.mutate({ appId, kind, name: name.trim() || defaultName(kind) }),
    onSuccess: async ({ key, secret }) => {
      setName("");
      onCreated(key, secret);
      await queryClient.invalidateQueries({ queryKey: ["keys", appId] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <form className="card inline" onSubmit={submit}>
      <Field label="Kind">
        {(id) => (
          <select id={id} value={kind} onChange={(e) => setKind(e.target.value as "secret" | "publishable")}>
            <option value="secret">Secret (servers)</option>
            <option value="publishable">Publishable (clients)</option>
          </select>
        )}
      </Field>
      <Field label="Key name">
        {(id) => (
          <input
            id={id}
            maxLength={100}
            placeholder={defaultName(kind)}
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        )}
      </Field>
      <button type="submit" disabled={create.isPending}>
        {create.isPending ? "Creating…" : "Create key"}
      </button>
      {create.isError && (
        <p className="note error" role="alert">
          {describeError(create.error)}
        </p>
      )}
    </form>
  );
}

function defaultName(kind: "secret" | "publishable"): string {
  return kind === "secret" ? "Server" : "Web client";
}
