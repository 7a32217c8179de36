/**
 * analyzers: turning security content into decisions and queries — Sigma detection rules (parse, evaluate
 * locally, convert to EDR/SIEM query languages) and hunt definitions built from Sigma, STIX or plain IOCs.
 */

export * from './hunt/index.ts';
export * from './sigma/index.ts';
