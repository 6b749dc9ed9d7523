import { useMutation, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, useLocation } from "wouter";
import { api, describeError, queryClient } from "../api";
import { Empty, ErrorNote, Field, formatDate, Loading } from "../ui";

export const appsQuery = { queryKey: ["apps"], queryFn: () => api.apps.list.query() } as const;

export function CreateAppForm({ onCreated }: { onCreated: (appId: string) => void }) {
  const [name, setName] = useState("");
  const create = useMutation({
    mutationFn: () => api.apps.create.mutate({ name: name.trim() }),
    onSuccess: async ({ app }) => {
      setName("");
      await queryClient.invalidateQueries({ queryKey: ["apps"] });
      onCreated(app.id);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim()) create.mutate();
  };
  return (
    <form className="inline" onSubmit={submit}>
      <Field label="App name">
        {(id) => (
          <input
            id={id}
            placeholder="e.g. Chat (production)"
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        )}
      </Field>
      <button type="submit" disabled={create.isPending || !name.trim()}>
        {create.isPending ? "Creating…" : "Create app"}
      </button>
      {create.isError && (
        <p className="note error" role="alert">
          {describeError(create.error)}
        </p>
      )}
    </form>
  );
}

export function AppsPage() {
  const apps = useQuery(appsQuery);
  const [, navigate] = useLocation();
  return (
    <section>
      <h1>Apps</h1>
      <p className="muted">
        An app is one tenant: its own rooms, keys, limits and usage. Use one per product and environment.
      </p>
      <div className="card">
        <CreateAppForm onCreated={(appId) => navigate(`/apps/${appId}/keys`)} />
      </div>
      {apps.isPending && <Loading what="Loading apps" />}
      {apps.isError && <ErrorNote error={apps.error} retry={() => apps.refetch()} />}
      {apps.data?.length === 0 && (
        <Empty>
          No apps yet. Create one above, or follow the <Link href="/welcome">getting-started checklist</Link>.
        </Empty>
      )}
      {apps.data && apps.data.length > 0 && (
        <ul className="list" aria-label="Your apps">
          {apps.data.map((app) => (
            <li key={app.id}>
              <Link href={`/apps/${app.id}/keys`} className="title">
                {app.name}
              </Link>
              <code className="muted">{app.id}</code>
              <span className="muted">created {formatDate(app.createdAt)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
