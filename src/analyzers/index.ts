/** analyzers: email analysis (phishing) and Sigma rules; each lives in its own folder. */
export * from './email/index.ts';
