/**
 * app: the composition root. It builds the Store and the server, and (as the modules land) registers
 * every integration's actions with the engine, gives the runner its policy check and subscribes
 * playbook triggers to case and alert events. Everything above `lab/` may be imported here.
 */

export {
  type AiAnswer,
  type AiInteractionEvent,
  AiService,
  type AiStatus,
  buildLlmInstance,
  INJECTION_TAG,
  type LlmTestResult,
  testLlmEndpoint,
} from './ai/index.ts';
export { ApprovalChannels, type ApprovalChannelsOptions, type ApprovalLinks } from './approval-channels.ts';
export { caseActions } from './case-actions.ts';
export { auditEventFromAuth, buildCasesService, webhookCredentialsFrom } from './cases.ts';
export {
  type ContainedActionView,
  Containment,
  EXPIRY_ACTOR,
  ROLLBACK_PLAYBOOK_ID,
  type RollbackResult,
  rollbackPlaybook,
  ttlOf,
} from './containment.ts';
export { DEFAULT_EDL_LIST, DEFAULT_EDL_LISTS, type EdlEntryView, EdlService, edlActions, edlValue } from './edl.ts';
export { EDL_TYPES, type EdlType, edlValueFor } from './edl-values.ts';
export { createEngine, type EngineSetup, environmentSecrets, registeredActions } from './engine-setup.ts';
export { type ApprovalView, Guardrails, type GuardrailsOptions } from './guardrails.ts';
export { httpRequestAction } from './http-request-action.ts';
export {
  HuntRuns,
  type HuntRunsOptions,
  type HuntRunView,
  type HuntSighting,
  type HuntStartOptions,
  planWaves,
  type RemediationOptions,
  type WaveView,
} from './hunt-runs.ts';
export { type HuntRequest, HuntService, type HuntServiceOptions, huntDefinitionFrom } from './hunt-service.ts';
export { integrationActions, verdictAction } from './integration-actions.ts';
export { type InstanceSummary, type IntegrationInstanceService, integrationInstanceService, masterKeyFor, type NewInstance } from './integration-instances.ts';
export { phishingSettings } from './phishing-intake.ts';
export { openRuntime, type RunningServer, type Runtime, type RuntimeOptions, serverServices, startServer } from './runtime.ts';
export { VERSION } from './version.ts';
export { type RunningWorker, startWorker, type WorkerOptions } from './worker.ts';
