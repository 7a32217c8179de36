/**
 * analyzers: turning outside content into decisions and queries — reported emails (phishing analysis and
 * verdicts), Sigma detection rules (parse, evaluate locally, convert to EDR/SIEM query languages) and hunt
 * definitions built from Sigma, STIX or plain IOCs. Each lives in its own folder.
 */
export * from './email/index.ts';
export * from './hunt/index.ts';
export * from './sigma/index.ts';
