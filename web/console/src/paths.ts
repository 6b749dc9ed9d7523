/**
 * Where to go after logging in: only a path on this site. `?next=//evil.example` and
 * `?next=/\evil.example` (browsers read `\` as `/`) must not send anyone away.
 */
export function safeNext(search: string): string {
  const next = new URLSearchParams(search).get("next");
  if (!next?.startsWith("/") || next[1] === "/" || next[1] === "\\") return "/";
  const unsafe = [...next].some((c) => c === "\\" || c.charCodeAt(0) < 0x20);
  return unsafe ? "/" : next;
}
