import { createClient } from "@relaybase/sdk";
import { createServerClient } from "@relaybase/sdk/server";

const {
  CP = "http://localhost:4000",
  REALTIME = "http://localhost:4001",
  REST = "http://localhost:4002",
} = process.env;

// 1. Sign up and create an app with a secret key (what the console does for you).
let cookie = "";
async function console_(procedure: string, input: unknown) {
  const res = await fetch(`${CP}/trpc/${procedure}`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie },
    body: JSON.stringify(input),
  });
  cookie = res.headers.get("set-cookie")?.split(";")[0] ?? cookie;
  return (await res.json()).result.data;
}
await console_("auth.signup", { email: `dev-${Date.now()}@example.com`, password: "correct horse battery" });
const { app, publishableKey } = await console_("apps.create", { name: "quickstart" });
const { secret } = await console_("keys.create", { appId: app.id, kind: "secret", name: "my server" });

// 2. Your server: mint a token for a user, publish over REST.
const server = createServerClient({ appId: app.id, secretKey: secret, restUrl: REST, controlPlaneUrl: CP });
const { token } = await server.createToken({ userId: "alice", capabilities: { "chat:*": ["subscribe"] } });

// 3. A client (browser or Node): subscribe, receive.
const client = createClient({
  key: publishableKey.publishableKey,
  url: REALTIME,
  getToken: async () => token,
});
const room = client.room("chat:lobby");
room.on("greeting", (data) => {
  console.log("received", JSON.stringify(data));
  client.close();
});
await room.subscribe();
await server.publish({ room: "chat:lobby", event: "greeting", data: { text: "hello" } });
