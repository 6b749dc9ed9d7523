import { useMutation, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, useLocation } from "wouter";
import { api, codeOf, describeError, meQuery, queryClient } from "../api";
import { ConfirmDialog, Copyable, Empty, ErrorNote, Field, formatDate, Loading } from "../ui";

export function TeamPage({ inviteToken }: { inviteToken?: string }) {
  if (inviteToken) return <AcceptInvite token={inviteToken} />;
  return <Team />;
}

function Team() {
  const me = useQuery(meQuery);
  const orgs = me.data?.orgs ?? [];
  const [orgId, setOrgId] = useState<string | undefined>();
  const current = orgs.find((o) => o.id === orgId) ?? orgs[0];
  const members = useQuery({
    queryKey: ["team", current?.id],
    queryFn: () => api.team.members.query({ orgId: current!.id }),
    enabled: current !== undefined,
  });
  const isOwner = current?.role === "owner";
  if (me.isPending || (current && members.isPending)) return <Loading what="Loading the team" />;
  if (!current) return <Empty>You are not in any org.</Empty>;
  return (
    <section>
      <h1>Team</h1>
      {orgs.length > 1 && (
        <p>
          <label>
            Org:{" "}
            <select value={current.id} onChange={(e) => setOrgId(e.target.value)}>
              {orgs.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name} ({o.role})
                </option>
              ))}
            </select>
          </label>
        </p>
      )}
      <p className="muted">
        Everyone in <strong>{current.name}</strong> sees and manages its apps and keys. Owners also manage the
        team and billing.
      </p>
      {members.isError && <ErrorNote error={members.error} retry={() => members.refetch()} />}
      {members.data && (
        <Members orgId={current.id} isOwner={isOwner} data={members.data} myId={me.data!.user.id} />
      )}
      {isOwner && <Invites orgId={current.id} />}
    </section>
  );
}

type MembersData = Awaited<ReturnType<typeof api.team.members.query>>;

function Members({
  orgId,
  isOwner,
  data,
  myId,
}: {
  orgId: string;
  isOwner: boolean;
  data: MembersData;
  myId: string;
}) {
  const [, navigate] = useLocation();
  const [removing, setRemoving] = useState<MembersData["members"][number] | undefined>();
  const refresh = () => queryClient.invalidateQueries({ queryKey: ["team", orgId] });
  const setRole = useMutation({
    mutationFn: (v: { userId: string; role: "owner" | "member" }) => api.team.setRole.mutate({ orgId, ...v }),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: (userId: string) => api.team.removeMember.mutate({ orgId, userId }),
    onSuccess: async (_r, userId) => {
      setRemoving(undefined);
      if (userId === myId) {
        await queryClient.invalidateQueries();
        navigate("/apps");
      } else await refresh();
    },
  });
  return (
    <div className="card">
      <h2>Members ({data.members.length})</h2>
      {setRole.isError && (
        <p className="note error" role="alert">
          {describeError(setRole.error)}
        </p>
      )}
      <table className="members" aria-label="Members">
        <tbody>
          {data.members.map((m) => (
            <tr key={m.userId}>
              <td>
                {m.name ?? m.email}
                {m.userId === myId && <span className="badge">you</span>}
                {m.name && <div className="muted small">{m.email}</div>}
              </td>
              <td>
                {isOwner ? (
                  <select
                    aria-label={`Role of ${m.email}`}
                    value={m.role}
                    disabled={setRole.isPending}
                    onChange={(e) =>
                      setRole.mutate({ userId: m.userId, role: e.target.value as "owner" | "member" })
                    }
                  >
                    <option value="owner">owner</option>
                    <option value="member">member</option>
                  </select>
                ) : (
                  <span className="badge">{m.role}</span>
                )}
              </td>
              <td className="muted small">joined {formatDate(m.joinedAt)}</td>
              <td>
                {(isOwner || m.userId === myId) && (
                  <button type="button" className="secondary small" onClick={() => setRemoving(m)}>
                    {m.userId === myId ? "Leave…" : "Remove…"}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ConfirmDialog
        open={removing !== undefined}
        title={removing?.userId === myId ? "Leave this org?" : `Remove ${removing?.email ?? ""}?`}
        confirmLabel={removing?.userId === myId ? "Leave" : "Remove"}
        busy={remove.isPending}
        error={remove.error ?? undefined}
        onConfirm={() => removing && remove.mutate(removing.userId)}
        onClose={() => {
          setRemoving(undefined);
          remove.reset();
        }}
      >
        <p>
          {removing?.userId === myId
            ? "You lose access to its apps until someone invites you again."
            : "They lose access to the org's apps at once. Keys they created keep working: revoke them if needed."}
        </p>
      </ConfirmDialog>
    </div>
  );
}

function Invites({ orgId }: { orgId: string }) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<"member" | "owner">("member");
  const [link, setLink] = useState<{ email: string; url: string; emailed: boolean } | undefined>();
  const pending = useQuery({
    queryKey: ["invites", orgId],
    queryFn: () => api.team.invites.query({ orgId }),
  });
  const invite = useMutation({
    mutationFn: () => api.team.invite.mutate({ orgId, email: email.trim(), role }),
    onSuccess: async (r) => {
      setLink({ email: r.invite.email, url: `${window.location.origin}${r.path}`, emailed: r.emailed });
      setEmail("");
      await queryClient.invalidateQueries({ queryKey: ["invites", orgId] });
    },
  });
  const revoke = useMutation({
    mutationFn: (inviteId: string) => api.team.revokeInvite.mutate({ orgId, inviteId }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["invites", orgId] }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (email.trim()) invite.mutate();
  };
  return (
    <div className="card">
      <h2>Invite someone</h2>
      <form className="inline" onSubmit={submit}>
        <Field label="Email">
          {(id) => (
            <input
              id={id}
              type="email"
              autoComplete="off"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <Field label="Role">
          {(id) => (
            <select id={id} value={role} onChange={(e) => setRole(e.target.value as "member" | "owner")}>
              <option value="member">member</option>
              <option value="owner">owner</option>
            </select>
          )}
        </Field>
        <button type="submit" disabled={invite.isPending || !email.trim()}>
          {invite.isPending ? "Inviting…" : "Create invite link"}
        </button>
        {invite.isError && (
          <p className="note error" role="alert">
            {describeError(invite.error)}
          </p>
        )}
      </form>
      {link && (
        <section className="note" aria-label="Invite link">
          <p>
            {link.emailed ? (
              <>
                We emailed this link to <strong>{link.email}</strong>; you can also send it yourself.
              </>
            ) : (
              <>
                Send this link to <strong>{link.email}</strong> (this Relaybase sends no email).
              </>
            )}{" "}
            It works once, for that address only, for 7 days.
          </p>
          <Copyable value={link.url} />
        </section>
      )}
      <h2>Open invites</h2>
      {pending.isPending && <Loading />}
      {pending.isError && <ErrorNote error={pending.error} retry={() => pending.refetch()} />}
      {pending.data?.length === 0 && <p className="muted">None.</p>}
      {pending.data && pending.data.length > 0 && (
        <ul className="list compact" aria-label="Open invites">
          {pending.data.map((i) => (
            <li key={i.id}>
              <span>{i.email}</span>
              <span className="badge">{i.role}</span>
              <span className="muted small">expires {formatDate(i.expiresAt)}</span>
              <button
                type="button"
                className="secondary small"
                disabled={revoke.isPending}
                onClick={() => revoke.mutate(i.id)}
              >
                Withdraw
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function AcceptInvite({ token }: { token: string }) {
  const [, navigate] = useLocation();
  const me = useQuery(meQuery);
  const accept = useMutation({
    mutationFn: () => api.team.acceptInvite.mutate({ token }),
    onSuccess: async () => {
      await queryClient.invalidateQueries();
      navigate("/apps", { replace: true });
    },
  });
  return (
    <section className="narrow">
      <h1>Join a team</h1>
      <div className="card">
        <p>
          You have been invited to an org on Relaybase. Joining lets you see and manage its apps as{" "}
          <strong>{me.data?.user.email}</strong>.
        </p>
        {accept.isError && (
          <p className="note error" role="alert">
            {describeError(accept.error)}
            {codeOf(accept.error) === "FORBIDDEN" && (
              <>
                {" "}
                <Link href={`/login?next=${encodeURIComponent(`/invite/${token}`)}`}>
                  Log in with another account
                </Link>
              </>
            )}
          </p>
        )}
        <button type="button" onClick={() => accept.mutate()} disabled={accept.isPending}>
          {accept.isPending ? "Joining…" : "Join the team"}
        </button>
      </div>
    </section>
  );
}
