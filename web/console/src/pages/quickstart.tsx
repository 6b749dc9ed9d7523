import { useQuery } from "@tanstack/react-query";
import { Link } from "wouter";
import { type App, type RuntimeConfig, runtimeConfigQuery } from "../api";
import { recentSecret } from "../memory";
import { CodeBlock, ErrorNote, Loading } from "../ui";
import { keysQuery } from "./keys";

export interface SnippetValues {
  appId: string;
  publishableKey: string;
  /** The real secret when this tab just created one; otherwise an environment variable. */
  secret: string | undefined;
  realtimeUrl: string;
  restUrl: string;
  controlPlaneUrl: string;
}

export function snippetValues(app: App, publishableKey: string, config: RuntimeConfig): SnippetValues {
  return {
    appId: app.id,
    publishableKey,
    secret: recentSecret(app.id)?.secret,
    realtimeUrl: config.realtimeUrl ?? "https://realtime.example.com",
    restUrl: config.restUrl ?? "https://rest.example.com",
    controlPlaneUrl: config.controlPlaneUrl,
  };
}

export function curlSnippet(v: SnippetValues): string {
  const auth = v.secret ? v.secret : "$RELAYBASE_SECRET_KEY";
  return `curl -X POST ${v.restUrl}/v1/apps/${v.appId}/publish \\
  -H "authorization: Bearer ${auth}" \\
  -H "content-type: application/json" \\
  -d '{"room":"getting-started","event":"hello","data":{"text":"Hello from curl"}}'`;
}

function clientSnippet(v: SnippetValues): string {
  return `import { createClient } from "@relaybase/sdk";

const client = createClient({
  key: "${v.publishableKey}",
  url: "${v.realtimeUrl}",
  // Your backend mints a token for the signed-in user (see the server snippet).
  authEndpoint: "/api/relaybase-token",
});

const room = client.room("chat:lobby");
room.on("message", (data, meta) => console.log(meta.offset, data));
await room.subscribe();
await room.publish("message", { text: "hi" });`;
}

function serverSnippet(v: SnippetValues): string {
  return `import { createServerClient } from "@relaybase/sdk/server";

const relaybase = createServerClient({
  appId: "${v.appId}",
  secretKey: process.env.RELAYBASE_SECRET_KEY!, // sk_… from the Keys tab
  restUrl: "${v.restUrl}",
  controlPlaneUrl: "${v.controlPlaneUrl}",
});

// POST /api/relaybase-token: a token for the user your own auth signed in.
export async function relaybaseToken(userId: string) {
  return relaybase.createToken({ userId, capabilities: { "chat:*": ["subscribe", "publish"] } });
}

// Anywhere on your server: publish without holding a socket.
await relaybase.publish({ room: "chat:lobby", event: "message", data: { text: "from the server" } });`;
}

export function QuickstartTab({ app }: { app: App }) {
  const config = useQuery(runtimeConfigQuery);
  const keys = useQuery(keysQuery(app.id));
  if (config.isPending || keys.isPending) return <Loading />;
  if (config.isError) return <ErrorNote error={config.error} retry={() => config.refetch()} />;
  if (keys.isError) return <ErrorNote error={keys.error} retry={() => keys.refetch()} />;
  const pk = keys.data.find((k) => k.kind === "publishable" && !k.revokedAt)?.publishableKey;
  if (!pk) {
    return (
      <p className="note">
        This app has no live publishable key. <Link href={`/apps/${app.id}/keys`}>Create one</Link> to get
        snippets.
      </p>
    );
  }
  const v = snippetValues(app, pk, config.data);
  return (
    <div className="stack">
      <p>
        <code>npm install @relaybase/sdk</code>, then use these, filled in with this app's key and this
        platform's addresses.
        {v.secret
          ? " The secret key you created a moment ago is filled in below; it is in this tab only and gone when you reload."
          : " Secret keys are shown only when created: set RELAYBASE_SECRET_KEY to one from the Keys tab."}
      </p>
      {(!config.data.realtimeUrl || !config.data.restUrl) && (
        <p className="note">
          The operator has not set REALTIME_PUBLIC_URL / REST_PUBLIC_URL, so the addresses below are
          placeholders.
        </p>
      )}
      <CodeBlock title="Browser or app (publishable key)" code={clientSnippet(v)} />
      <CodeBlock title="Your server (secret key)" code={serverSnippet(v)} />
      <CodeBlock title="Publish from a terminal (REST)" code={curlSnippet(v)} />
    </div>
  );
}
