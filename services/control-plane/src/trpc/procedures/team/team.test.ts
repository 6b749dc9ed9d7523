import { PLANS } from "@relaybase/server-kit";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import {
  consoleClient,
  DB_MODES,
  relaybaseCodeOf,
  uniqueEmail,
  useControlPlane,
} from "../../../testing/harness.js";

type Client = ReturnType<typeof consoleClient>["client"];

async function account(url: string, email = uniqueEmail()) {
  const { client } = consoleClient(url);
  const me = await client.auth.signup.mutate({ email, password: "a long password" });
  return { client, me, email, orgId: me.orgs[0]!.id, userId: me.user.id };
}

describe.each(DB_MODES)("team and invites over tRPC (%s)", (mode) => {
  const cp = useControlPlane(mode);

  it("a member invited by link sees the org's apps; the link works once, for that email only", async () => {
    const owner = await account(cp.server.url);
    const { app } = await owner.client.apps.create.mutate({ name: "Shared" });
    const email = uniqueEmail("invitee");
    const { token, path, invite } = await owner.client.team.invite.mutate({ email: email.toUpperCase() });
    expect(path).toBe(`/invite/${token}`);
    expect(invite).toMatchObject({ email, role: "member" });
    expect((await owner.client.team.invites.query()).map((i) => i.email)).toEqual([email]);

    // Someone else holding the link cannot use it.
    const stranger = await account(cp.server.url);
    expect(await relaybaseCodeOf(stranger.client.team.acceptInvite.mutate({ token }))).toBe("FORBIDDEN");

    const invitee = await account(cp.server.url, email);
    expect(await invitee.client.apps.list.query()).toEqual([]);
    const joined = await invitee.client.team.acceptInvite.mutate({ token });
    expect(joined).toEqual({ org: { id: owner.orgId, name: expect.any(String) }, role: "member" });
    expect((await invitee.client.apps.list.query()).map((a) => a.id)).toEqual([app.id]);
    expect((await invitee.client.apps.get.query({ appId: app.id })).name).toBe("Shared");
    expect(await invitee.client.keys.list.query({ appId: app.id })).toHaveLength(1);

    // Used: no second time, and no longer pending.
    expect(await relaybaseCodeOf(invitee.client.team.acceptInvite.mutate({ token }))).toBe("NOT_FOUND");
    expect(await owner.client.team.invites.query()).toEqual([]);

    const team = await owner.client.team.members.query({ orgId: owner.orgId });
    expect(team.members.map((m) => [m.email, m.role])).toEqual([
      [owner.email, "owner"],
      [email, "member"],
    ]);
    // The invitee's own first org is still their default; they name the shared one.
    expect((await invitee.client.team.members.query({ orgId: owner.orgId })).org.role).toBe("member");
  });

  it("owners manage the team; members may only look and leave; the org keeps an owner", async () => {
    const owner = await account(cp.server.url);
    const email = uniqueEmail("member");
    const { token } = await owner.client.team.invite.mutate({ email });
    const member = await account(cp.server.url, email);
    await member.client.team.acceptInvite.mutate({ token });
    const orgId = owner.orgId;

    expect(await relaybaseCodeOf(member.client.team.invite.mutate({ orgId, email: uniqueEmail() }))).toBe(
      "FORBIDDEN",
    );
    expect(await relaybaseCodeOf(member.client.team.invites.query({ orgId }))).toBe("FORBIDDEN");
    expect(
      await relaybaseCodeOf(member.client.team.removeMember.mutate({ orgId, userId: owner.userId })),
    ).toBe("FORBIDDEN");
    expect(
      await relaybaseCodeOf(
        member.client.team.setRole.mutate({ orgId, userId: member.userId, role: "owner" }),
      ),
    ).toBe("FORBIDDEN");
    expect(await relaybaseCodeOf(owner.client.team.invite.mutate({ email }))).toBe("CONFLICT");

    // The last owner stays.
    expect(await relaybaseCodeOf(owner.client.team.removeMember.mutate({ userId: owner.userId }))).toBe(
      "CONFLICT",
    );
    expect(
      await relaybaseCodeOf(owner.client.team.setRole.mutate({ userId: owner.userId, role: "member" })),
    ).toBe("CONFLICT");
    await owner.client.team.setRole.mutate({ userId: member.userId, role: "owner" });
    await owner.client.team.setRole.mutate({ userId: member.userId, role: "member" });

    // A member leaves on their own; an owner removes; a revoked invite stops working.
    await member.client.team.removeMember.mutate({ orgId, userId: member.userId });
    expect((await owner.client.team.members.query()).members.map((m) => m.userId)).toEqual([owner.userId]);
    const again = await owner.client.team.invite.mutate({ email });
    const second = await owner.client.team.invite.mutate({ email }); // replaces the first
    expect(await relaybaseCodeOf(member.client.team.acceptInvite.mutate({ token: again.token }))).toBe(
      "NOT_FOUND",
    );
    await owner.client.team.revokeInvite.mutate({ inviteId: second.invite.id });
    expect(await relaybaseCodeOf(member.client.team.acceptInvite.mutate({ token: second.token }))).toBe(
      "NOT_FOUND",
    );
  });

  it("refuses every procedure on an org's app to strangers (NOT_FOUND) and to nobody (UNAUTHENTICATED)", async () => {
    const owner = await account(cp.server.url);
    const { app } = await owner.client.apps.create.mutate({ name: "Guarded" });
    const [pk] = await owner.client.keys.list.query({ appId: app.id });
    const appId = app.id;
    const orgId = owner.orgId;
    const calls: [string, (c: Client) => Promise<unknown>][] = [
      ["apps.get", (c) => c.apps.get.query({ appId })],
      ["apps.update", (c) => c.apps.update.mutate({ appId, name: "mine" })],
      ["apps.delete", (c) => c.apps.delete.mutate({ appId })],
      ["apps.limits", (c) => c.apps.limits.query({ appId })],
      ["apps.consoleToken", (c) => c.apps.consoleToken.mutate({ appId })],
      ["apps.debugToken", (c) => c.apps.debugToken.mutate({ appId })],
      ["rooms.list", (c) => c.rooms.list.query({ appId })],
      ["rooms.inspect", (c) => c.rooms.inspect.query({ appId, room: "chat:1" })],
      ["apps.create in the org", (c) => c.apps.create.mutate({ name: "x", orgId })],
      ["keys.list", (c) => c.keys.list.query({ appId })],
      ["keys.create", (c) => c.keys.create.mutate({ appId, kind: "secret", name: "steal" })],
      ["keys.revoke", (c) => c.keys.revoke.mutate({ appId, keyId: pk!.id })],
      ["usage.series", (c) => c.usage.series.query({ appId, granularity: "hour" })],
      ["usage.today", (c) => c.usage.today.query({ appId })],
      ["usage.notices", (c) => c.usage.notices.query({ appId })],
      ["billing.status", (c) => c.billing.status.query({ orgId })],
      ["team.members", (c) => c.team.members.query({ orgId })],
      ["team.invites", (c) => c.team.invites.query({ orgId })],
      ["team.invite", (c) => c.team.invite.mutate({ orgId, email: uniqueEmail() })],
      ["team.removeMember", (c) => c.team.removeMember.mutate({ orgId, userId: owner.userId })],
      ["team.setRole", (c) => c.team.setRole.mutate({ orgId, userId: owner.userId, role: "member" })],
    ];
    const stranger = await account(cp.server.url);
    const nobody = consoleClient(cp.server.url).client;
    for (const [name, call] of calls) {
      expect([name, await relaybaseCodeOf(call(stranger.client))]).toEqual([name, "NOT_FOUND"]);
      expect([name, await relaybaseCodeOf(call(nobody))]).toEqual([name, "UNAUTHENTICATED"]);
    }
    // Nothing changed.
    expect(await owner.client.apps.get.query({ appId })).toMatchObject({ name: "Guarded" });
    expect((await owner.client.keys.list.query({ appId })).every((k) => k.revokedAt === null)).toBe(true);
    expect((await owner.client.team.members.query()).members).toHaveLength(1);
  });

  it("shows the limits in force and mints a short-lived console token for a member", async () => {
    const owner = await account(cp.server.url);
    const { app } = await owner.client.apps.create.mutate({ name: "Limits" });
    expect(await owner.client.apps.limits.query({ appId: app.id })).toEqual({
      plan: "free",
      limits: PLANS.free,
      overridden: [],
    });
    const { token, expiresAt } = await owner.client.apps.consoleToken.mutate({ appId: app.id });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      app: app.id,
      sub: `console:${owner.userId}`,
      aud: "relaybase:realtime",
      caps: { "*": ["subscribe", "publish", "history"] },
    });
    expect(claims.exp).toBe(expiresAt);
    expect(claims.exp! - claims.iat!).toBe(600);
    // The plain console token is no debug token.
    expect(claims.debug).toBeUndefined();
  });

  it("mints a debug token for a member only: the debug claim and no capability on any room", async () => {
    const owner = await account(cp.server.url);
    const { app } = await owner.client.apps.create.mutate({ name: "Tail" });
    const { token, expiresAt } = await owner.client.apps.debugToken.mutate({ appId: app.id });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ app: app.id, sub: `console:${owner.userId}`, caps: {}, debug: true });
    expect(claims.exp).toBe(expiresAt);
    expect(claims.exp! - claims.iat!).toBe(600);
    // Another org's user gets NOT_FOUND, however they ask (the list above walks every procedure).
    const stranger = await account(cp.server.url);
    expect(await relaybaseCodeOf(stranger.client.apps.debugToken.mutate({ appId: app.id }))).toBe(
      "NOT_FOUND",
    );
    const { app: theirs } = await stranger.client.apps.create.mutate({ name: "Theirs" });
    const own = decodeJwt((await stranger.client.apps.debugToken.mutate({ appId: theirs.id })).token);
    expect(own.app).toBe(theirs.id);
  });
});
