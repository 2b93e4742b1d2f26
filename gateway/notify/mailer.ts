import { createTransport } from 'nodemailer';
import type { Logger } from 'pino';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  /** Resolves once the SMTP server accepted the message; rejects otherwise (the caller retries). */
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export interface MailerOptions {
  /** `SMTP_URL`; without it messages are logged at info instead of sent. */
  smtpUrl: string | undefined;
  /**
   * Log only who and what about, never the text: in production a logged magic link or one-time code
   * lets anyone who reads the logs approve.
   */
  redact?: boolean;
  /** `MAIL_FROM`. */
  from: string;
  logger: Logger;
}

/** Email over SMTP with nodemailer (DESIGN §5), or, with no SMTP server configured, into the log. */
export function createMailer({ smtpUrl, from, logger, redact = false }: MailerOptions): Mailer {
  if (!smtpUrl && redact) {
    logger.warn(
      'SMTP_URL is not set: approval emails (magic links, one-time codes) are not sent and not logged; approvers decide through the approvals API',
    );
    return {
      async send(message) {
        logger.info(
          { mail: { from, to: message.to } },
          'email not sent (no SMTP_URL); its subject and text are withheld from the log: they may carry a personal link or code',
        );
      },
      close() {},
    };
  }
  if (!smtpUrl) {
    return {
      async send(message) {
        logger.info(
          { mail: { from, to: message.to, subject: message.subject, text: message.text } },
          'email not sent (no SMTP_URL); its text, links included, is logged here',
        );
      },
      close() {},
    };
  }
  const transport = createTransport(smtpUrl, { from });
  return {
    async send(message) {
      await transport.sendMail({ to: message.to, subject: message.subject, text: message.text });
    },
    close() {
      transport.close();
    },
  };
}
