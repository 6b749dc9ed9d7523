import type { Logger } from "@relaybase/server-kit";
import { createTransport, type Transporter } from "nodemailer";
import type { ControlPlaneConfig } from "../config.js";

/** One plain-text mail: what the control plane sends (reset links, invites). */
export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/**
 * How the control plane sends mail (docs/console.md#mail). `delivers` says whether mail
 * reaches people at all, so the console can tell a user whether to expect it.
 */
export interface Mailer {
  readonly delivers: boolean;
  /** Resolves when the mail was handed to the transport; rejects if it could not be. */
  send(mail: Mail): Promise<void>;
  close(): void;
}

/** SMTP_URL set: SMTP through nodemailer, with bounded waits so a stuck server never holds a request long. */
export class SmtpMailer implements Mailer {
  readonly delivers = true;
  readonly #transport: Transporter;
  readonly #from: string;

  constructor(url: string, from: string) {
    this.#transport = createTransport({
      url,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    });
    this.#from = from;
  }

  async send(mail: Mail): Promise<void> {
    await this.#transport.sendMail({ from: this.#from, ...mail });
  }

  close(): void {
    this.#transport.close();
  }
}

/**
 * SMTP_URL unset (embedded mode, or an operator who has not set up mail): the mail is
 * written to the log, where whoever runs the process can find a reset link and pass it on.
 */
export class LogMailer implements Mailer {
  readonly delivers = false;
  constructor(private readonly logger: Pick<Logger, "info">) {}

  async send(mail: Mail): Promise<void> {
    this.logger.info({ mail }, `mail not sent (SMTP_URL is not set): "${mail.subject}" to ${mail.to}`);
  }

  close(): void {}
}

export function createMailer(
  config: Pick<ControlPlaneConfig, "SMTP_URL" | "MAIL_FROM" | "PUBLIC_URL">,
  logger: Pick<Logger, "info">,
): Mailer {
  if (!config.SMTP_URL) return new LogMailer(logger);
  const from = config.MAIL_FROM ?? `Relaybase <no-reply@${new URL(config.PUBLIC_URL).hostname}>`;
  return new SmtpMailer(config.SMTP_URL, from);
}
