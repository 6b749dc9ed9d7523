import type { Mail } from "./mailer.js";

// The texts of the control plane's mail, in one place. Plain text: no tracking, no HTML to
// sanitise, and every client shows the link.

export function passwordResetMail(to: string, link: string, ttlMinutes: number): Mail {
  return {
    to,
    subject: "Reset your Relaybase password",
    text: [
      "Someone (hopefully you) asked to reset the password of your Relaybase account.",
      "",
      `Choose a new password here (the link works once, for ${ttlMinutes} minutes):`,
      link,
      "",
      "Setting a new password signs out every session of the account.",
      "If you did not ask for this, ignore this mail: your password stays as it is.",
    ].join("\n"),
  };
}

export function inviteMail(
  to: string,
  orgName: string,
  invitedBy: string,
  link: string,
  ttlDays: number,
): Mail {
  return {
    to,
    subject: `${invitedBy} invited you to ${orgName} on Relaybase`,
    text: [
      `${invitedBy} invited you to join the team "${orgName}" on Relaybase.`,
      "",
      `Accept here (the link works once, for ${ttlDays} days, for ${to} only):`,
      link,
      "",
      "Log in or sign up with this email address to join.",
    ].join("\n"),
  };
}
