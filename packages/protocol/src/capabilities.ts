/**
 * Capabilities name what a connection may do on which rooms, as Ably's capability
 * maps do: `{ "chat:*": ["subscribe", "publish"], "public:news": ["subscribe"] }`.
 * A pattern is a room name, or a prefix followed by `*`; `*` alone matches every room.
 */
export const CAPABILITIES = ["subscribe", "publish", "presence", "history"] as const;
export type Capability = (typeof CAPABILITIES)[number];
export type Capabilities = Record<string, Capability[]>;

export function patternMatches(pattern: string, room: string): boolean {
  if (pattern.endsWith("*")) return room.startsWith(pattern.slice(0, -1));
  return pattern === room;
}

export function can(caps: Capabilities, capability: Capability, room: string): boolean {
  for (const [pattern, allowed] of Object.entries(caps)) {
    if (allowed.includes(capability) && patternMatches(pattern, room)) return true;
  }
  return false;
}
