import type { AppRouter } from "@relaybase/control-plane";
import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";

/** The control plane's tRPC API, same origin: the session cookie goes along by itself. */
export const api = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: "/trpc" })] });

export type Outputs = inferRouterOutputs<AppRouter>;
export type Inputs = inferRouterInputs<AppRouter>;
export type App = Outputs["apps"]["get"];
export type Key = Outputs["keys"]["list"][number];
export type Me = Outputs["auth"]["me"];

/** The Relaybase error code of a failed call (docs/errors.md), if it came from the API. */
export function codeOf(err: unknown): string | undefined {
  if (err instanceof TRPCClientError) {
    return (err.data as { relaybaseCode?: string } | undefined)?.relaybaseCode;
  }
  return undefined;
}

const FRIENDLY: Record<string, string> = {
  UNAUTHENTICATED: "Your session has ended. Log in again.",
  INVALID_CREDENTIALS: "Wrong email or password.",
  NOT_FOUND: "Not found, or you are not a member of its org.",
  FORBIDDEN: "You are not allowed to do that.",
  BILLING_DISABLED: "Billing is off on this server.",
  UNAVAILABLE: "The server cannot reach its database right now. Try again in a moment.",
  INTERNAL: "Something went wrong on the server. Try again; if it keeps happening, tell the operator.",
};

/** A sentence for a person. `overrides` words the codes that mean something particular on a page. */
export function describeError(err: unknown, overrides: Partial<Record<string, string>> = {}): string {
  const code = codeOf(err);
  if (code) {
    const specific = overrides[code];
    if (specific) return specific;
    // The server's own message says which limit or field (e.g. "try again in 42 s").
    if (code === "RATE_LIMITED" || code === "BAD_REQUEST" || code === "CONFLICT") {
      return err instanceof Error ? err.message : code;
    }
    return FRIENDLY[code] ?? (err instanceof Error ? err.message : code);
  }
  if (err instanceof TypeError) return "Cannot reach the server. Check your connection.";
  return err instanceof Error ? err.message : String(err);
}

/** A session that ended (expired, logged out elsewhere) sends the page back to Log in via `auth.me`. */
function onApiError(err: unknown, queryKey?: readonly unknown[]): void {
  if (codeOf(err) === "UNAUTHENTICATED" && queryKey?.[0] !== "me") {
    void queryClient.invalidateQueries({ queryKey: ["me"] });
  }
}

export const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError: (err, query) => onApiError(err, query.queryKey) }),
  mutationCache: new MutationCache({ onError: (err) => onApiError(err) }),
  defaultOptions: {
    queries: {
      // An answer with a code is the server's decision: asking again will not change it.
      retry: (failures, err) => codeOf(err) === undefined && failures < 2,
      refetchOnWindowFocus: false,
      staleTime: 10_000,
    },
  },
});

export const meQuery = { queryKey: ["me"], queryFn: () => api.auth.me.query() } as const;

/** What `/console-config.json` says: where the platform's other parts are. */
export interface RuntimeConfig {
  controlPlaneUrl: string;
  realtimeUrl: string | null;
  restUrl: string | null;
  billingEnabled: boolean;
}

export async function fetchRuntimeConfig(): Promise<RuntimeConfig> {
  const res = await fetch("/console-config.json", { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`console-config.json answered ${res.status}`);
  const config = (await res.json()) as RuntimeConfig;
  const trim = (u: string | null) => (u ? u.replace(/\/+$/, "") : u);
  return { ...config, realtimeUrl: trim(config.realtimeUrl), restUrl: trim(config.restUrl) };
}

export const runtimeConfigQuery = {
  queryKey: ["runtime-config"],
  queryFn: fetchRuntimeConfig,
  staleTime: Number.POSITIVE_INFINITY,
} as const;
