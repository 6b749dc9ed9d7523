import { useMutation, useQuery } from "@tanstack/react-query";
import { api, describeError } from "../api";
import { ErrorNote, formatBytes, formatNumber, Loading } from "../ui";

const ROWS: [string, string, (n: number) => string][] = [
  ["maxConnections", "Concurrent connections per app", formatNumber],
  ["messagesPerDay", "Messages per app per day", formatNumber],
  ["maxMessageBytes", "Message size", formatBytes],
  ["restPublishesPerSecond", "REST publishes / s", formatNumber],
  ["clientPublishesPerSecond", "Client publishes / s / connection", formatNumber],
  ["historySize", "History per room", (n) => `${formatNumber(n)} messages`],
];

export function BillingPage() {
  const status = useQuery({ queryKey: ["billing"], queryFn: () => api.billing.status.query() });
  const back = `${window.location.origin}/billing`;
  const checkout = useMutation({
    mutationFn: (plan: "pro" | "scale") =>
      api.billing.checkout.mutate({ plan, successUrl: `${back}?checkout=done`, cancelUrl: back }),
    onSuccess: ({ url }) => window.location.assign(url),
  });
  const portal = useMutation({
    mutationFn: () => api.billing.portal.mutate({ returnUrl: back }),
    onSuccess: ({ url }) => window.location.assign(url),
  });
  if (status.isPending) return <Loading what="Loading billing" />;
  if (status.isError) return <ErrorNote error={status.error} retry={() => status.refetch()} />;
  const s = status.data;
  const justPaid = new URLSearchParams(window.location.search).get("checkout") === "done";
  return (
    <section>
      <h1>Billing</h1>
      <p>
        <strong>{s.org.name}</strong> is on the <strong className="badge plan">{s.org.plan}</strong> plan
        {s.subscription?.status ? ` (subscription ${s.subscription.status})` : ""}.
      </p>
      {!s.enabled && (
        <p className="note" role="status">
          Billing is off on this server (no Stripe key configured), so nothing is charged and plans do not
          change here. Every org keeps its plan; an operator can raise an app's limits with the operator API.
        </p>
      )}
      {s.enabled && !s.canManage && <p className="note">Only an owner of the org can change its plan.</p>}
      {justPaid && (
        <p className="note ok" role="status">
          Thanks. The plan changes as soon as Stripe confirms the subscription (usually seconds).
        </p>
      )}
      {(checkout.isError || portal.isError) && (
        <p className="note error" role="alert">
          {describeError(checkout.error ?? portal.error)}
        </p>
      )}
      <div className="table-scroll">
        <table className="plans">
          <thead>
            <tr>
              <th scope="col">Limit</th>
              {s.plans.map((p) => (
                <th key={p.id} scope="col" aria-current={p.id === s.org.plan ? "true" : undefined}>
                  {p.id}
                  {p.id === s.org.plan && <span className="badge">current</span>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {ROWS.map(([key, label, format]) => (
              <tr key={key}>
                <th scope="row">{label}</th>
                {s.plans.map((p) => (
                  <td key={p.id}>{format((p.limits as Record<string, number>)[key] ?? 0)}</td>
                ))}
              </tr>
            ))}
            {s.enabled && s.canManage && (
              <tr>
                <th scope="row">
                  <span className="sr-only">Actions</span>
                </th>
                {s.plans.map((p) => (
                  <td key={p.id}>
                    {p.purchasable && p.id !== s.org.plan && p.id !== "free" && (
                      <button
                        type="button"
                        disabled={checkout.isPending}
                        onClick={() => checkout.mutate(p.id as "pro" | "scale")}
                      >
                        Upgrade to {p.id}
                      </button>
                    )}
                  </td>
                ))}
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {s.enabled && s.canManage && s.hasBillingAccount && (
        <p>
          <button
            type="button"
            className="secondary"
            disabled={portal.isPending}
            onClick={() => portal.mutate()}
          >
            Manage billing (cards, invoices, cancel)
          </button>
        </p>
      )}
    </section>
  );
}
