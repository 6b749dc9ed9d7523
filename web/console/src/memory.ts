/**
 * What this browser tab remembers between pages: the secret a key was created with (it is
 * shown once and never stored; a reload forgets it), and which onboarding steps were done.
 */
const secrets = new Map<string, { keyId: string; secret: string }>();

export function rememberSecret(appId: string, keyId: string, secret: string): void {
  secrets.set(appId, { keyId, secret });
}

export function recentSecret(appId: string): { keyId: string; secret: string } | undefined {
  return secrets.get(appId);
}

export function forgetSecret(appId: string, keyId: string): void {
  if (secrets.get(appId)?.keyId === keyId) secrets.delete(appId);
}

type Step = "copied" | "sent" | "received";

export function markStep(appId: string, step: Step): void {
  try {
    localStorage.setItem(`rb.onboarding.${appId}.${step}`, "1");
    window.dispatchEvent(new Event("rb-onboarding"));
  } catch {
    // Private mode without storage: the checklist just forgets on reload.
  }
}

export function stepDone(appId: string, step: Step): boolean {
  try {
    return localStorage.getItem(`rb.onboarding.${appId}.${step}`) === "1";
  } catch {
    return false;
  }
}
