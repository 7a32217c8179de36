import type { AuthSummary } from './authentication.ts';
import { findLookalike, isSameOrganisation, registrableDomain, skeleton } from './lookalike-domains.ts';
import type { MailboxAddress } from './parse-message.ts';
import { type Signal, signal } from './verdict.ts';

/**
 * Who the message claims to be from, and whether the claims agree: From, Reply-To, Return-Path and Sender,
 * display names that borrow a VIP's name or the organisation's, lookalike domains, and free-mail accounts
 * presenting themselves as a company.
 */
export interface Vip {
  name: string;
  /** Addresses the VIP really writes from; mail under their name from anywhere else is suspect. */
  emails?: string[];
}

export interface SenderPolicy {
  ownDomains: string[];
  protectedDomains: string[];
  vips: Vip[];
  organisationNames: string[];
  freemailDomains: Set<string>;
}

export const FREEMAIL_DOMAINS = [
  'gmail.com',
  'googlemail.com',
  'outlook.com',
  'hotmail.com',
  'live.com',
  'msn.com',
  'yahoo.com',
  'ymail.com',
  'aol.com',
  'icloud.com',
  'me.com',
  'mac.com',
  'proton.me',
  'protonmail.com',
  'gmx.com',
  'gmx.net',
  'gmx.de',
  'web.de',
  'mail.com',
  'mail.ru',
  'yandex.ru',
  'yandex.com',
  'zoho.com',
  'tutanota.com',
  'qq.com',
  '163.com',
  'seznam.cz',
  'hotmail.co.uk',
  'yahoo.co.uk',
  'libero.it',
  'orange.fr',
  't-online.de',
];

const COMPANY_WORDS =
  /\b(?:inc|ltd|llc|gmbh|corp|corporation|company|bank|payroll|hr|human resources|it support|it department|helpdesk|help desk|service desk|support team|billing|accounts? (?:payable|receivable)|finance|security team|administrator|admin|microsoft|office ?365|docusign|paypal|amazon|apple|dhl|fedex|ups)\b/i;

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0
    ? ''
    : address
        .slice(at + 1)
        .toLowerCase()
        .replace(/[>\s]+$/, '');
}

function normaliseName(name: string): string {
  return skeleton(name)
    .replace(/[^a-z\s]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function isOwn(domain: string, policy: SenderPolicy): boolean {
  return domain !== '' && policy.ownDomains.some((own) => isSameOrganisation(domain, own));
}

export interface SenderFacts {
  from: MailboxAddress | undefined;
  replyTo: MailboxAddress[];
  returnPath: string | undefined;
  sender: MailboxAddress | undefined;
}

export function senderSignals(facts: SenderFacts, auth: AuthSummary, policy: SenderPolicy): Signal[] {
  const signals: Signal[] = [];
  const from = facts.from;
  if (!from) {
    signals.push(signal('no_from', 'sender', 10, 'the message has no From address'));
    return signals;
  }
  const fromDomain = domainOf(from.address);
  const protectedAll = [...policy.ownDomains, ...policy.protectedDomains];
  const lookalike = fromDomain ? findLookalike(fromDomain, protectedAll) : undefined;
  if (lookalike)
    signals.push(signal('lookalike_sender_domain', 'sender', 50, `sender domain imitates ${lookalike.protectedDomain}: ${lookalike.detail}`, fromDomain));

  // Reply-To elsewhere: the answer goes to the attacker while the From looks right.
  for (const reply of facts.replyTo) {
    const replyDomain = domainOf(reply.address);
    if (!replyDomain || !fromDomain || isSameOrganisation(replyDomain, fromDomain)) continue;
    const replyLookalike = findLookalike(replyDomain, protectedAll);
    if (replyLookalike)
      signals.push(
        signal('lookalike_reply_to', 'sender', 45, `Reply-To domain imitates ${replyLookalike.protectedDomain}: ${replyLookalike.detail}`, replyDomain),
      );
    const freemail = policy.freemailDomains.has(replyDomain) && !policy.freemailDomains.has(fromDomain);
    signals.push(
      signal(
        'reply_to_mismatch',
        'sender',
        freemail ? 30 : 20,
        `replies go to ${reply.address} (${replyDomain}), not to the sender's domain ${fromDomain}${freemail ? ' — a free-mail account' : ''}`,
      ),
    );
    break;
  }

  const displayName = from.name.slice(0, 500);
  const fromIsOwn = isOwn(fromDomain, policy);
  // A display name carrying an address with another domain: "ceo@corp.example <x@evil.example>".
  const addressInName = /[\w.+-]+@([\w-]+(?:\.[\w-]+)+)/.exec(displayName);
  if (addressInName?.[1] && !isSameOrganisation(addressInName[1].toLowerCase(), fromDomain)) {
    signals.push(signal('display_name_address_mismatch', 'sender', 30, `the display name shows ${addressInName[0]} but the mail is from ${from.address}`));
  }
  if (displayName && !fromIsOwn) {
    const shown = normaliseName(displayName);
    for (const vip of policy.vips) {
      const vipName = normaliseName(vip.name);
      // "Jane Doe", "Doe, Jane", "JANE DOE (CEO)" and "Jаne Dоe" with Cyrillic letters all name her.
      const reversed = vipName.split(' ').reverse().join(' ');
      if (!vipName || !(shown.includes(vipName) || shown.includes(reversed))) continue;
      const known = (vip.emails ?? []).map((e) => e.toLowerCase()).includes(from.address);
      if (!known) {
        signals.push(
          signal(
            'vip_impersonation',
            'sender',
            45,
            `the display name "${displayName}" is a protected person (${vip.name}) but the address ${from.address} is not theirs`,
          ),
        );
        break;
      }
    }
    const claimsOwn =
      policy.organisationNames.some((org) => org.length >= 3 && shown.includes(normaliseName(org))) ||
      policy.ownDomains.some((own) => displayName.toLowerCase().includes(own.toLowerCase()));
    if (claimsOwn && !lookalike)
      signals.push(signal('own_name_in_display_name', 'sender', 25, `an outside sender (${fromDomain}) uses the organisation's name in "${displayName}"`));
    if (policy.freemailDomains.has(fromDomain) && (COMPANY_WORDS.test(displayName) || claimsOwn)) {
      signals.push(signal('freemail_claims_company', 'sender', 25, `a free-mail account (${fromDomain}) presents itself as "${displayName}"`));
    }
  }

  // The organisation's own domain in From, but the authentication says someone else sent it.
  if (fromIsOwn) {
    if (auth.dmarc === 'fail') signals.push(signal('own_domain_spoofed', 'sender', 45, `From is the organisation's own domain ${fromDomain} but DMARC fails`));
    else if ((auth.spf === 'fail' || auth.spf === 'softfail') && auth.dkim !== 'pass' && auth.dmarc !== 'pass')
      signals.push(
        signal('own_domain_spoofed', 'sender', 30, `From is the organisation's own domain ${fromDomain} but SPF fails and nothing else vouches for it`),
      );
  }

  const returnDomain = facts.returnPath ? domainOf(facts.returnPath) : '';
  if (returnDomain && fromDomain && !isSameOrganisation(returnDomain, fromDomain) && auth.dmarc !== 'pass') {
    signals.push(signal('return_path_mismatch', 'sender', 5, `the envelope sender's domain ${returnDomain} differs from ${fromDomain}`));
  }
  const senderDomain = facts.sender ? domainOf(facts.sender.address) : '';
  if (senderDomain && fromDomain && !isSameOrganisation(senderDomain, fromDomain) && auth.dmarc !== 'pass') {
    signals.push(signal('sender_header_mismatch', 'sender', 5, `the Sender header (${senderDomain}) differs from From (${fromDomain})`));
  }
  return signals;
}

export function authSignals(auth: AuthSummary, fromDomain: string): Signal[] {
  const signals: Signal[] = [];
  // A forwarder or mailing list breaks SPF/DKIM; a passing ARC chain from it vouches for the original.
  const arcRescues = auth.arc === 'pass';
  if (auth.dmarc === 'fail' && !arcRescues) signals.push(signal('dmarc_fail', 'auth', 25, `DMARC fails for ${auth.domains.dmarc ?? fromDomain}`));
  if (auth.spf === 'fail' && !arcRescues)
    signals.push(signal('spf_fail', 'auth', 10, 'SPF fails: the sending server is not authorised for the envelope domain'));
  else if (auth.spf === 'softfail' && !arcRescues) signals.push(signal('spf_softfail', 'auth', 5, 'SPF soft-fails'));
  if (auth.dkim === 'fail' && !arcRescues) signals.push(signal('dkim_fail', 'auth', 10, 'the DKIM signature does not verify'));
  if (auth.dkim === 'pass' && fromDomain && auth.domains.dkim.length > 0 && auth.dmarc !== 'pass') {
    const aligned = auth.domains.dkim.some((d) => registrableDomain(d) === registrableDomain(fromDomain));
    if (!aligned) signals.push(signal('dkim_unaligned', 'auth', 5, `DKIM passes only for ${auth.domains.dkim.join(', ')}, not for ${fromDomain}`));
  }
  return signals;
}
