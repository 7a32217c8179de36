/**
 * integrations/sdk/mail: outbound SMTP with the address guard, shared by the approval e-mail channel and
 * the `email` integration (send_email). It imports only core and the SDK's address guard.
 */
export { createImapReader, type ImapMessage, type ImapReader, type ImapSettings } from './imap-reader.ts';
export {
  checkMailAddress,
  createSmtpSender,
  type MailMessage,
  type SentMail,
  type SmtpSecurity,
  type SmtpSender,
  type SmtpSenderOptions,
  type SmtpSettings,
} from './smtp-sender.ts';
