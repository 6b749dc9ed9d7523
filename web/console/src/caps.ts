import type { App } from "./api";

export const OPS = ["subscribe", "publish", "presence", "history"] as const;

/** The anonymous capabilities as editable lines: `public:* subscribe,history`. */
export function capsToText(caps: App["anonymousCaps"]): string {
  return Object.entries(caps)
    .map(([pattern, ops]) => `${pattern} ${ops.join(",")}`)
    .join("\n");
}

export function textToCaps(text: string): { caps?: App["anonymousCaps"]; error?: string } {
  const caps: Record<string, (typeof OPS)[number][]> = {};
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (!line) continue;
    const [pattern, opsText = "", ...rest] = line.split(/\s+/);
    if (!pattern || rest.length > 0) return { error: `Line ${i + 1}: write "room-pattern op,op".` };
    const ops = opsText.split(",").filter(Boolean);
    const bad = ops.find((op) => !(OPS as readonly string[]).includes(op));
    if (bad || ops.length === 0) {
      return { error: `Line ${i + 1}: operations are ${OPS.join(", ")}${bad ? ` (not "${bad}")` : ""}.` };
    }
    caps[pattern] = ops as (typeof OPS)[number][];
  }
  return { caps };
}
