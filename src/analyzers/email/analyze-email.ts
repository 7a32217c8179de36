import { isRiposteError, RiposteError } from '../../core/index.ts';
import { type AttachmentReport, allFindings, allReports, scanAttachments } from './attachments.ts';
import { type AuthSummary, combineAuth, type DnsResolver, trustedHeaderAuth, type VerifiedAuth, verifyAuthentication } from './authentication.ts';
import {
  defangDomain,
  defangEmail,
  defangUrl,
  displayedTargetMismatch,
  type ExtractedLink,
  htmlToText,
  isIpHost,
  linksFromHtml,
  linksFromText,
  URL_SHORTENERS,
} from './links.ts';
import { findLookalike, registrableDomain } from './lookalike-domains.ts';
import { DEFAULT_EMAIL_LIMITS, type EmailLimits, headerValues, isOleFile, type ParsedEmail, parseMessage } from './parse-message.ts';
import { type Hop, isPrivateIp, receivedHops } from './received-chain.ts';
import { authSignals, domainOf, FREEMAIL_DOMAINS, type SenderPolicy, senderSignals, type Vip } from './sender-checks.ts';
import { decideVerdict, type Signal, signal, type Verdict } from './verdict.ts';

/**
 * The email analysis: one reported file in, one analysis per email it carries out (a user's report that
 * wraps three suspicious messages yields three). Offline by default; DNS re-verification and reputation
 * look-ups happen only when a resolver or a lookup is injected.
 */
export interface PhishingSettings {
  ownDomains: string[];
  protectedDomains: string[];
  vips: Vip[];
  organisationNames: string[];
  trustedAuthservIds: string[];
  /** Header that marks an authorised phishing simulation; value: exact (case-insensitive) or any when omitted. */
  simulationHeaders: Array<{ name: string; value?: string }>;
  freemailDomains: string[];
}

export const DEFAULT_PHISHING_SETTINGS: PhishingSettings = {
  ownDomains: [],
  protectedDomains: [],
  vips: [],
  organisationNames: [],
  trustedAuthservIds: [],
  simulationHeaders: [],
  freemailDomains: FREEMAIL_DOMAINS,
};

export type ReputationVerdict = 'malicious' | 'suspicious' | 'clean' | 'unknown';
export type ReputationLookup = (observable: { type: 'url' | 'domain' | 'ip' | 'hash'; value: string }) => Promise<ReputationVerdict>;

export interface AnalyzeOptions {
  settings?: Partial<PhishingSettings>;
  limits?: Partial<EmailLimits>;
  /** DNS for SPF/DKIM/DMARC/ARC re-verification; omitted: only trusted Authentication-Results count. */
  resolver?: DnsResolver;
  /** Reputation of observables through the integrations; omitted (or --offline): skipped. */
  reputation?: ReputationLookup;
}

export interface Observables {
  urls: string[];
  domains: string[];
  ips: string[];
  emails: string[];
  hashes: string[];
}

export interface LinkReport {
  url: string;
  source: string;
  displayed?: string;
  attachment?: string;
}

export interface EmailAnalysis {
  /** Where in the file this message was: "" for the file itself, else the chain of attachment names. */
  location: string;
  subject: string;
  from: string | null;
  messageId: string | null;
  date: string | null;
  verdict: Verdict;
  score: number;
  reasons: string[];
  signals: Signal[];
  techniques: string[];
  observables: Observables;
  auth: { spf: string; dkim: string; dmarc: string; arc: string; source: AuthSummary['source'] };
  hops: Hop[];
  attachments: AttachmentReport[];
  links: LinkReport[];
  simulation: string | null;
}

/** What the reporter said the message was, when the report's subject tells. */
export type ReportCategory = 'junk' | 'not_junk' | 'phishing';

/**
 * Microsoft's submission format for reporting tools starts the subject with "1|" (junk), "2|" (not junk)
 * or "3|" (phishing); report buttons of other vendors say "Phishing:", "Spam:" and the like.
 */
export function reportCategory(subject: string): ReportCategory | null {
  const numbered = /^\s*([123])\s*\|/.exec(subject)?.[1];
  if (numbered) return numbered === '1' ? 'junk' : numbered === '2' ? 'not_junk' : 'phishing';
  if (/^\s*\[?(?:phish(?:ing)?|suspicious|reported phish(?:ing)?)\b/i.test(subject)) return 'phishing';
  if (/^\s*\[?(?:junk|spam)\b/i.test(subject)) return 'junk';
  if (/^\s*\[?not[ -]junk\b/i.test(subject)) return 'not_junk';
  return null;
}

export interface ReportAnalysis {
  /** Set when the file was a report wrapping other emails: who sent the report. */
  reporter: { from: string | null; subject: string; category: ReportCategory | null } | null;
  analyses: EmailAnalysis[];
}

const SUSPICIOUS_TLDS = new Set([
  'zip',
  'mov',
  'top',
  'xyz',
  'click',
  'link',
  'work',
  'rest',
  'country',
  'gq',
  'tk',
  'ml',
  'cf',
  'ga',
  'icu',
  'cam',
  'support',
  'buzz',
]);
const CREDENTIAL_LANGUAGE =
  /verify (?:your )?(?:account|identity|mailbox|email)|password (?:will )?expir|unusual sign.?in|(?:account|mailbox) (?:has been |will be )?(?:suspended|locked|disabled|deactivated|closed)|confirm your (?:account|details|identity|password)|update (?:your )?(?:payment|billing|account)|re-?activate|storage (?:is )?full|validate your/i;
const URGENCY_LANGUAGE = /\burgent(?:ly)?\b|immediately|within 24 hours|action required|final (?:notice|warning)|as soon as possible|today only/i;
const BEC_LANGUAGE =
  /wire transfer|gift ?cards?|(?:change|update)(?:d)? (?:of |to )?(?:our |my )?(?:bank|banking|payment) (?:details|information|account)|are you (?:available|at your desk)|quick (?:favou?r|task)|keep (?:this )?confidential/i;
const SPAM_LANGUAGE =
  /you(?:'ve| have) won|lottery|viagra|casino|100% free|risk.?free|miracle|earn \$?\d+ ?(?:per|a) (?:day|week)|crypto ?(?:profit|giveaway)|weight loss|click here to claim/i;

function resolvedLimits(options: AnalyzeOptions): EmailLimits {
  return { ...DEFAULT_EMAIL_LIMITS, ...options.limits };
}

function resolvedSettings(options: AnalyzeOptions): PhishingSettings {
  return { ...DEFAULT_PHISHING_SETTINGS, ...options.settings };
}

function isEmbeddedEmail(a: { filename: string; mimeType: string; content: Uint8Array; embeddedMsg?: boolean }): boolean {
  if (a.embeddedMsg) return true;
  if (a.mimeType === 'message/rfc822' || a.mimeType === 'message/global') return true;
  if (/\.eml$/i.test(a.filename)) return true;
  return /\.msg$/i.test(a.filename) && isOleFile(a.content);
}

/** Analyses a file: an email, or a report wrapping emails (each analysed on its own). */
export async function analyzeReport(bytes: Uint8Array, options: AnalyzeOptions = {}): Promise<ReportAnalysis> {
  const limits = resolvedLimits(options);
  const outer = await parseMessage(bytes, limits);
  // A bounce (multipart/report) quotes the original message: it is analysed as the bounce it is.
  const isBounce = /^\s*multipart\/report/i.test(headerValues(outer, 'content-type')[0] ?? '');
  const embedded = isBounce ? [] : outer.attachments.filter(isEmbeddedEmail);
  if (embedded.length === 0) return { reporter: null, analyses: [await analyzeParsed(outer, '', options, limits)] };
  const analyses: EmailAnalysis[] = [];
  await collectEmbedded(outer, '', 1, options, limits, analyses);
  if (analyses.length === 0) return { reporter: null, analyses: [await analyzeParsed(outer, '', options, limits)] };
  return { reporter: { from: outer.from[0]?.address ?? null, subject: outer.subject, category: reportCategory(outer.subject) }, analyses };
}

async function collectEmbedded(
  message: ParsedEmail,
  location: string,
  depth: number,
  options: AnalyzeOptions,
  limits: EmailLimits,
  out: EmailAnalysis[],
): Promise<void> {
  for (const attachment of message.attachments.filter(isEmbeddedEmail)) {
    if (out.length >= limits.maxParts) return;
    const where = location ? `${location}/${attachment.filename || 'message'}` : attachment.filename || 'message';
    let inner: ParsedEmail;
    try {
      inner = await parseMessage(attachment.content, limits);
    } catch (error) {
      if (!isRiposteError(error)) throw error;
      continue;
    }
    const nested = inner.attachments.filter(isEmbeddedEmail);
    // A forward of a forward: the innermost messages are the ones reported, within the depth limit.
    if (nested.length > 0 && depth < limits.maxDepth) {
      const before = out.length;
      await collectEmbedded(inner, where, depth + 1, options, limits, out);
      if (out.length > before) continue;
    }
    out.push(await analyzeParsed(inner, where, options, limits));
  }
}

/** Analyses one email file; a wrapper report is analysed as the message it is (see analyzeReport for unwrapping). */
export async function analyzeEmail(bytes: Uint8Array, options: AnalyzeOptions = {}): Promise<EmailAnalysis> {
  const limits = resolvedLimits(options);
  return analyzeParsed(await parseMessage(bytes, limits), '', options, limits);
}

function dedupe<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

async function analyzeParsed(email: ParsedEmail, location: string, options: AnalyzeOptions, limits: EmailLimits): Promise<EmailAnalysis> {
  const settings = resolvedSettings(options);
  const policy: SenderPolicy = {
    ownDomains: settings.ownDomains.map((d) => d.toLowerCase()),
    protectedDomains: settings.protectedDomains.map((d) => d.toLowerCase()),
    vips: settings.vips,
    organisationNames: settings.organisationNames,
    freemailDomains: new Set(settings.freemailDomains.map((d) => d.toLowerCase())),
  };
  const signals: Signal[] = [];

  // Headers: the Received chain and authentication.
  const hops = receivedHops(headerValues(email, 'received'));
  const headerAuth = trustedHeaderAuth(headerValues(email, 'authentication-results'), settings.trustedAuthservIds);
  let verified: VerifiedAuth | undefined;
  if (options.resolver && email.raw) {
    try {
      verified = await verifyAuthentication(email.raw, options.resolver);
    } catch {
      // A verification that cannot complete leaves the trusted headers as the only source.
    }
  }
  const auth = combineAuth(headerAuth, verified);
  const from = email.from[0];
  const fromDomain = from ? domainOf(from.address) : '';
  signals.push(...senderSignals({ from, replyTo: email.replyTo, returnPath: email.returnPath, sender: email.sender }, auth, policy));
  signals.push(...authSignals(auth, fromDomain));
  if (email.from.length > 1) signals.push(signal('multiple_from', 'sender', 15, `the message names ${email.from.length} From addresses`));

  // Attachments (bounded archive expansion shared by the whole message).
  const scan = scanAttachments(
    email.attachments.filter((a) => !(a.mimeType === 'message/rfc822' || a.embeddedMsg)),
    limits,
    { remaining: limits.maxExpandedBytes },
  );
  const bodyText = `${email.subject}\n${email.text.slice(0, 1_000_000)}\n${email.html ? htmlToText(email.html).slice(0, 1_000_000) : ''}`;
  const attachmentWeights: Record<string, number> = {
    executable: 50,
    double_extension: 50,
    deceptive_name: 50,
    type_mismatch: 45,
    macro: 40,
    macro_enabled_type: 25,
    html_smuggling: 55,
    credential_form: 45,
    html_attachment: 20,
    html_redirect: 20,
    disk_image: 45,
    shortcut: 50,
    onenote: 45,
    encrypted_archive: 30,
    encrypted_document: 25,
    nested_archive: 10,
    pdf_javascript: 25,
    pdf_launch: 40,
    pdf_embedded_file: 10,
    remote_template: 45,
    archive_limit: 5,
    qr_code_link: 20,
  };
  for (const { finding } of allFindings(scan.reports)) {
    const weight = attachmentWeights[finding.code] ?? 10;
    signals.push(signal(finding.code, 'attachment', weight, finding.detail));
  }
  const encrypted = [...allFindings(scan.reports)].some((f) => f.finding.code === 'encrypted_archive' || f.finding.code === 'encrypted_document');
  if (encrypted && /\b(?:password|passcode|pwd|kennwort|mot de passe)\b/i.test(bodyText)) {
    signals.push(signal('archive_password_in_body', 'attachment', 20, 'the message gives the password for its encrypted attachment (defeats scanning)'));
  }

  // Links from the body and attachments.
  const links: ExtractedLink[] = [...linksFromText(email.text), ...(email.html ? linksFromHtml(email.html) : []), ...scan.links];
  const protectedAll = [...policy.ownDomains, ...policy.protectedDomains];
  const flaggedHosts = new Set<string>();
  for (const link of links) {
    const host = link.host;
    if (!host) {
      signals.push(signal('script_link', 'link', 25, `a link runs ${link.url.split(':')[0]}: content instead of opening a page`));
      continue;
    }
    const mismatch = displayedTargetMismatch(link);
    if (mismatch) signals.push(signal('link_text_mismatch', 'link', 30, `a link shows ${defangDomain(mismatch)} but opens ${defangDomain(host)}`));
    if (flaggedHosts.has(host)) continue;
    flaggedHosts.add(host);
    const lookalike = findLookalike(host, protectedAll);
    if (lookalike)
      signals.push(
        signal(
          'lookalike_link_domain',
          'link',
          50,
          `a link goes to ${defangDomain(host)}, imitating ${lookalike.protectedDomain} (${lookalike.technique})`,
          host,
        ),
      );
    if (URL_SHORTENERS.has(host)) signals.push(signal('url_shortener', 'link', 10, `a link hides its target behind the shortener ${defangDomain(host)}`));
    if (isIpHost(host)) signals.push(signal('ip_address_link', 'link', 25, `a link points at a bare IP address ${defangDomain(host)}`));
    const tld = host.split('.').pop() ?? '';
    if (SUSPICIOUS_TLDS.has(tld)) signals.push(signal('suspicious_tld', 'link', 8, `a link goes to the often-abused .${tld} domain ${defangDomain(host)}`));
    if (/^https?:\/\/[^/?#]*@/i.test(link.url))
      signals.push(signal('link_userinfo', 'link', 25, `a link hides its real host after an "@" (${defangUrl(link.url).slice(0, 120)})`));
  }
  if (email.html && /<input\b[^<>]{0,2000}type\s*=\s*["']?password/i.test(email.html)) {
    signals.push(signal('credential_form', 'link', 45, 'the message body itself contains a password form'));
  }
  // A decoded QR code's link was weighed above like any link (and as an attachment finding); a code that
  // could not be read still counts when the text asks for a scan and the message has nothing else to click.
  const qrLinks = links.filter((l) => l.source === 'qr');
  if (
    qrLinks.length === 0 &&
    /scan (?:the|this) qr|qr.?code/i.test(bodyText) &&
    email.attachments.some((a) => a.mimeType.startsWith('image/')) &&
    links.length === 0
  ) {
    signals.push(signal('qr_code_lure', 'link', 20, 'the message asks the reader to scan a QR code in an image that could not be decoded'));
  }

  // Content: wording that asks for credentials, money or haste. Weak alone by design.
  if (CREDENTIAL_LANGUAGE.test(bodyText))
    signals.push(signal('credential_language', 'content', 12, 'the text asks the reader to verify, unlock or update an account'));
  if (URGENCY_LANGUAGE.test(bodyText)) signals.push(signal('urgency_language', 'content', 8, 'the text pushes for immediate action'));
  if (BEC_LANGUAGE.test(bodyText))
    signals.push(signal('payment_request_language', 'content', 15, 'the text asks for a payment, gift cards, bank-detail changes or secrecy'));

  // Reputation through the integrations, when given.
  const observables = collectObservables(email, hops, links, scan.reports);
  if (options.reputation) signals.push(...(await reputationSignals(options.reputation, email, hops, links, scan.reports)));

  const simulation = simulationMatch(email, settings);
  let spamScore = 0;
  const spamFlag = headerValues(email, 'x-spam-flag')[0] ?? '';
  const spamStatus = headerValues(email, 'x-spam-status')[0] ?? '';
  const spamNotes: string[] = [];
  if (/^\s*yes/i.test(spamFlag) || /^\s*yes/i.test(spamStatus)) {
    spamScore += 30;
    spamNotes.push('a spam filter on the way marked it as spam (X-Spam-Flag / X-Spam-Status)');
  }
  if (SPAM_LANGUAGE.test(bodyText)) {
    spamScore += 30;
    spamNotes.push('the text reads like spam (prizes, miracle offers, casino…)');
  }
  const bulk =
    headerValues(email, 'list-unsubscribe').length > 0 ||
    headerValues(email, 'list-id').length > 0 ||
    /bulk|list/i.test(headerValues(email, 'precedence')[0] ?? '');

  const outcome = decideVerdict({ signals, spamScore, bulk, simulation });
  const ordered = [...signals].sort((a, b) => b.weight - a.weight);
  return {
    location,
    subject: email.subject,
    from: from?.address ? defangEmail(from.address) : null,
    messageId: email.messageId ?? null,
    date: email.date ?? null,
    verdict: outcome.verdict,
    score: outcome.score,
    reasons: dedupe([
      ...ordered.map((s) => s.detail),
      ...spamNotes,
      ...(outcome.verdict === 'graymail' ? ['bulk mail (List-Unsubscribe, List-Id or Precedence: bulk)'] : []),
    ]),
    signals: ordered,
    techniques: outcome.techniques,
    observables,
    auth: { spf: auth.spf, dkim: auth.dkim, dmarc: auth.dmarc, arc: auth.arc, source: auth.source },
    hops,
    attachments: scan.reports,
    links: dedupe(links.map((l) => JSON.stringify({ url: defangUrl(l.url), source: l.source, displayed: l.displayed, attachment: l.attachment }))).map(
      (s) => JSON.parse(s) as LinkReport,
    ),
    simulation: simulation ?? null,
  };
}

function simulationMatch(email: ParsedEmail, settings: PhishingSettings): string | undefined {
  for (const rule of settings.simulationHeaders) {
    for (const value of headerValues(email, rule.name)) {
      if (rule.value === undefined || value.trim().toLowerCase() === rule.value.toLowerCase()) return `${rule.name}: ${value.trim()}`;
    }
  }
  return undefined;
}

function collectObservables(email: ParsedEmail, hops: Hop[], links: ExtractedLink[], reports: AttachmentReport[]): Observables {
  const emails = dedupe(
    [...email.from, ...email.replyTo, ...(email.sender ? [email.sender] : [])]
      .map((m) => m.address)
      .concat(email.returnPath ? [email.returnPath.replace(/[<>]/g, '')] : [])
      .filter((a) => a.includes('@')),
  );
  const hosts = links.map((l) => l.host).filter(Boolean);
  const ips = dedupe([...hops.map((h) => h.ip).filter((ip): ip is string => ip !== null && !isPrivateIp(ip)), ...hosts.filter(isIpHost)]);
  const domains = dedupe([...emails.map(domainOf), ...hosts.filter((h) => !isIpHost(h))].filter(Boolean));
  return {
    urls: dedupe(links.filter((l) => l.host).map((l) => defangUrl(l.url))),
    domains: domains.map(defangDomain),
    ips: ips.map(defangDomain),
    emails: emails.map(defangEmail),
    hashes: dedupe([...allReports(reports)].filter((r) => r.size > 0 && r.sha256 !== '').map((r) => r.sha256)),
  };
}

async function reputationSignals(
  lookup: ReputationLookup,
  email: ParsedEmail,
  hops: Hop[],
  links: ExtractedLink[],
  reports: AttachmentReport[],
): Promise<Signal[]> {
  const asks: Array<{ type: 'url' | 'domain' | 'ip' | 'hash'; value: string }> = [];
  for (const url of dedupe(links.filter((l) => l.host).map((l) => l.url)).slice(0, 20)) asks.push({ type: 'url', value: url });
  for (const domain of dedupe([...email.from.map((m) => domainOf(m.address)), ...links.map((l) => registrableDomain(l.host))].filter(Boolean)).slice(0, 20))
    asks.push({ type: 'domain', value: domain });
  for (const hop of hops) if (hop.ip && !isPrivateIp(hop.ip)) asks.push({ type: 'ip', value: hop.ip });
  for (const report of allReports(reports)) if (report.size > 0) asks.push({ type: 'hash', value: report.sha256 });
  const signals: Signal[] = [];
  const answers = await Promise.all(asks.map(async (ask) => ({ ask, verdict: await lookup(ask).catch((): ReputationVerdict => 'unknown') })));
  for (const { ask, verdict } of answers) {
    const shown = ask.type === 'url' ? defangUrl(ask.value) : ask.type === 'hash' ? ask.value : defangDomain(ask.value);
    if (verdict === 'malicious')
      signals.push(signal(`reputation_${ask.type}_malicious`, 'reputation', 60, `threat intelligence lists the ${ask.type} ${shown} as malicious`));
    else if (verdict === 'suspicious')
      signals.push(signal(`reputation_${ask.type}_suspicious`, 'reputation', 20, `threat intelligence flags the ${ask.type} ${shown} as suspicious`));
  }
  return signals;
}

/** A file that could not be read as an email: the reason, for the `{"file","error"}` line. */
export function describeAnalysisError(error: unknown): { code: string; message: string } {
  if (error instanceof RiposteError) return { code: error.code, message: error.message };
  return { code: 'email.unparseable', message: error instanceof Error ? error.message : String(error) };
}
