import { foundation } from './0001-foundation.ts';
import { engineRuns } from './0100-engine-runs.ts';
import { engineClaimIndexes } from './0101-engine-claim-indexes.ts';
import { cases } from './0200-cases.ts';
import { auth } from './0300-auth-users-tokens-sessions.ts';
import { approvals } from './0400-approvals.ts';
import { guardedActionHistory } from './0401-guarded-action-history.ts';
import { integrationInstances } from './0500-integration-instances.ts';
import { runCaseLink } from './0600-run-case-link.ts';
import { containedActions } from './0601-contained-actions.ts';
import { notificationOutbox } from './0610-notification-outbox.ts';
import { edlEntries } from './0630-edl-entries.ts';
import { intelObjects } from './0700-intel-objects.ts';
import { phishingReports } from './0860-phishing-reports.ts';
import { aiInteractions } from './0900-ai-interactions.ts';
import { edlListTypes } from './0920-edl-list-types.ts';
import { runIdempotencyKeys } from './0921-run-idempotency-keys.ts';
import { huntRuns } from './0930-hunt-runs.ts';
import type { StoreMigration } from './migration.ts';

export type { StoreMigration } from './migration.ts';

/** Every migration, in apply order. Names must be unique and sort in this order. */
export const migrations: readonly StoreMigration[] = [
  foundation,
  engineRuns,
  engineClaimIndexes,
  cases,
  auth,
  approvals,
  guardedActionHistory,
  integrationInstances,
  runCaseLink,
  containedActions,
  notificationOutbox,
  edlEntries,
  intelObjects,
  phishingReports,
  aiInteractions,
  edlListTypes,
  runIdempotencyKeys,
  huntRuns,
];
