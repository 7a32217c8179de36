/**
 * analyzers/email: phishing analysis of reported emails (.eml, .msg, and reports wrapping them), offline by
 * default — headers and the Received chain, SPF/DKIM/DMARC/ARC, sender alignment and impersonation,
 * lookalike domains, links and attachments — ending in a verdict with the evidence behind it.
 */
export {
  type AnalyzeOptions,
  analyzeEmail,
  analyzeReport,
  DEFAULT_PHISHING_SETTINGS,
  describeAnalysisError,
  type EmailAnalysis,
  type LinkReport,
  type Observables,
  type PhishingSettings,
  type ReportAnalysis,
  type ReportCategory,
  type ReputationLookup,
  type ReputationVerdict,
  reportCategory,
} from './analyze-email.ts';
export { type AttachmentFinding, type AttachmentReport, detectType } from './attachments.ts';
export { type AuthSummary, cachedLiveResolver, type DnsResolver, fixtureResolver, trustedHeaderAuth } from './authentication.ts';
export { defangDomain, defangEmail, defangUrl } from './links.ts';
export { editDistance, findLookalike, type LookalikeMatch, skeleton } from './lookalike-domains.ts';
export { DEFAULT_EMAIL_LIMITS, type EmailLimits, parseMessage } from './parse-message.ts';
export { type Hop, receivedHops } from './received-chain.ts';
export type { Signal, Verdict } from './verdict.ts';
