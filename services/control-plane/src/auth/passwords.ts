import { hash, verify } from "@node-rs/argon2";

// @node-rs/argon2 defaults: argon2id, 19 MiB, 2 passes, 1 lane (the OWASP baseline).

export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

/** A hash of a password nobody has, so a login for an unknown email costs as much as a real one. */
let decoy: Promise<string> | undefined;

/** Verifies a password; with no stored hash it still spends the time, so timing does not reveal accounts. */
export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  if (storedHash === undefined) {
    decoy ??= hash("decoy password that matches no account");
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  try {
    return await verify(storedHash, password);
  } catch {
    return false;
  }
}
