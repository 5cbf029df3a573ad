/**
 * The sandbox mailbox: where the server's mails to customers go when no mail provider is configured (development,
 * `npm start`, tests). Each mail is one JSON line in `<DATA_DIR>/sandbox-mailbox/<file>` with the file named after
 * the address, so the simulated customers (sim/) read their confirmation mail the way a person reads theirs.
 */

export const SANDBOX_MAILBOX_DIR = 'sandbox-mailbox';

export type CustomerMailKind = 'verify_email' | 'signup_notice';

/** One line of a sandbox mailbox file. */
export interface SandboxMail {
  to: string;
  kind: CustomerMailKind;
  subject: string;
  body: string;
  /** epoch ms */
  sentAt: number;
}

/** The file of an address (lower-cased, percent-encoded: no path separators, one file per address). */
export function sandboxMailboxFile(address: string): string {
  return `${encodeURIComponent(address.trim().toLowerCase())}.jsonl`;
}

/** The line of a confirmation mail that carries the token (what a customer app's link or form sends back). */
export const CONFIRMATION_TOKEN_LABEL = 'Confirmation code:';

/** The token of a confirmation mail's body, or undefined. */
export function confirmationToken(body: string): string | undefined {
  const line = body.split('\n').find((l) => l.startsWith(CONFIRMATION_TOKEN_LABEL));
  return line?.slice(CONFIRMATION_TOKEN_LABEL.length).trim() || undefined;
}
