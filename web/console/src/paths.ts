/**
 * Where to go after logging in: only a path on this site. `?next=//evil.example` and
 * `?next=/\evil.example` (browsers read `\` as `/`) must not send anyone away.
 */
export function safeNext(search: string): string {
  const next = new URLSearchParams(search).get("next");
  if (!next || !/^\/(?![/\\])/.test(next) || /[\\\u0000-\u001f]/.test(next)) return "/";
  return next;
}
