import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Runtime } from '../src/app/index.ts';

/** Shared by the phishing intake and scenario tests: report builders, corpus settings, tokens. */
const CORPUS = resolve(import.meta.dirname, 'fixtures/email/corpus');

/** A report button's submission: the reporter's mail with the suspicious ones attached as message/rfc822. */
export function wrappedReport(reporter: string, attached: Uint8Array[]): Uint8Array {
  const boundary = 'riposte-report-boundary';
  const parts = attached.map(
    (bytes, i) =>
      `--${boundary}\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename="reported-${i}.eml"\r\n\r\n${Buffer.from(bytes).toString('latin1')}\r\n`,
  );
  return Buffer.from(
    `From: ${reporter}\r\nTo: phishing@examplecorp.com\r\nSubject: Phishing: please look\r\nMessage-ID: <wrap-${Date.now()}@examplecorp.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n--${boundary}\r\nContent-Type: text/plain\r\n\r\nThese look wrong.\r\n${parts.join('')}--${boundary}--\r\n`,
    'latin1',
  );
}

export function settingsOverrides(): Record<string, unknown> {
  const s = JSON.parse(readFileSync(join(CORPUS, 'settings.json'), 'utf8')) as Record<string, unknown>;
  return {
    'phishing.own_domains': s.ownDomains,
    'phishing.protected_domains': s.protectedDomains,
    'phishing.trusted_authserv_ids': s.trustedAuthservIds,
  };
}

export async function tokenFor(
  runtime: Runtime,
  role: 'analyst' | 'viewer' | 'approver' | 'admin',
  name = `${role}-${Math.random().toString(36).slice(2, 8)}`,
): Promise<string> {
  await runtime.auth.createUser({ name, roles: [role] });
  return (await runtime.auth.createToken({ userName: name })).token;
}
