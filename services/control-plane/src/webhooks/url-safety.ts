import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { RelaybaseError } from "@relaybase/protocol";

/**
 * Where a webhook may go (docs/webhooks.md#safety). A URL is checked when an endpoint is
 * saved and again before every request: the name is resolved, every address it resolves
 * to is checked, and the request then connects to the checked address itself (never
 * resolving the name again), so a DNS answer that changes in between (rebinding) cannot
 * reach an address the check refused.
 */

/** Resolves a host name to its addresses (tests pass their own: nothing resolves offline). */
export type HostLookup = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface UrlPolicy {
  /** WEBHOOK_ALLOW_HTTP: plain http:// allowed (self-hosting, tests). */
  allowHttp: boolean;
  /** WEBHOOK_ALLOW_PRIVATE_URLS: loopback, private, link-local and metadata addresses allowed. */
  allowPrivate: boolean;
  lookup?: HostLookup;
}

/** Addresses no hosted webhook may reach: loopback, private, link-local (incl. 169.254.169.254), CGNAT, multicast, reserved. */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  BLOCKED.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7], // unique local, incl. AWS's fd00:ec2::254 metadata address
  ["fe80::", 10],
  ["ff00::", 8],
  ["2001:db8::", 32],
] as const) {
  BLOCKED.addSubnet(net, prefix, "ipv6");
}

/** Whether an IP address is one a hosted webhook must not reach. IPv4 inside IPv6 (mapped, NAT64) is judged as IPv4. */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, "ipv4");
  if (family !== 6) return true;
  const lower = address.toLowerCase();
  const embedded = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1];
  if (embedded) return BLOCKED.check(embedded, "ipv4");
  const mappedHex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (mappedHex) {
    const hi = Number.parseInt(mappedHex[1]!, 16);
    const lo = Number.parseInt(mappedHex[2]!, 16);
    return BLOCKED.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, "ipv4");
  }
  return BLOCKED.check(address, "ipv6");
}

/** A URL's form alone (no DNS): https (or http when allowed), a host, no credentials. Throws BAD_REQUEST. */
export function parseWebhookUrl(raw: string, policy: Pick<UrlPolicy, "allowHttp">): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RelaybaseError("BAD_REQUEST", "The webhook URL is not a URL.");
  }
  if (url.protocol !== "https:" && !(policy.allowHttp && url.protocol === "http:")) {
    throw new RelaybaseError("BAD_REQUEST", "A webhook URL must start with https://.");
  }
  if (url.username || url.password) {
    throw new RelaybaseError("BAD_REQUEST", "A webhook URL must not carry a user name or password.");
  }
  if (!url.hostname) throw new RelaybaseError("BAD_REQUEST", "A webhook URL needs a host.");
  return url;
}

/** The host as `URL` gives it, without IPv6 brackets. */
const bareHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, "$1");

/**
 * Resolves the URL's host and checks every address; returns the one to connect to.
 * Throws BAD_REQUEST naming why (unresolvable, or an address not allowed).
 */
export async function resolveWebhookTarget(
  url: URL,
  policy: UrlPolicy,
): Promise<{ address: string; family: number }> {
  const host = bareHost(url);
  let addresses: { address: string; family: number }[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await (policy.lookup ?? systemLookup)(host);
    } catch {
      throw new RelaybaseError("BAD_REQUEST", `The webhook host ${host} does not resolve.`);
    }
  }
  if (addresses.length === 0)
    throw new RelaybaseError("BAD_REQUEST", `The webhook host ${host} does not resolve.`);
  if (!policy.allowPrivate) {
    const blocked = addresses.find((a) => isBlockedAddress(a.address));
    if (blocked) {
      throw new RelaybaseError(
        "BAD_REQUEST",
        `The webhook host ${host} resolves to ${blocked.address}, a loopback, private, link-local or metadata ` +
          "address, which webhooks may not reach.",
      );
    }
  }
  return addresses[0]!;
}

/** Form and addresses, as when an endpoint is saved. */
export async function checkWebhookUrl(raw: string, policy: UrlPolicy): Promise<URL> {
  const url = parseWebhookUrl(raw, policy);
  await resolveWebhookTarget(url, policy);
  return url;
}
