/**
 * engine: durable playbook runs. Playbooks are YAML data validated by zod schemas (and a generated JSON
 * Schema for editors); expressions use Jinja2 syntax evaluated by a sandboxed interpreter; a pure
 * interpreter turns a playbook, its inputs and a run's journal into the next commands, and the runner
 * around it claims work from the Store, executes actions and commits their results in groups.
 * It imports only core and the store interface; vendors' actions are registered by app/.
 */
export type { ActionGuard, GuardOutcome, GuardRequest, GuardVerdict } from './action-guard.ts';
export {
  type ActionCatalog,
  type ActionContext,
  type ActionDefinition,
  ActionRegistry,
  builtinActions,
  coreLog,
  coreTransform,
  defineAction,
  type Impact,
} from './actions.ts';
export { type Decision, Engine, type EngineOptions, type IdempotentStart, type RunView, type StartRunOptions, type StepRecord, stepHistory } from './engine.ts';
export * from './expressions/index.ts';
export { type Command, decide, foldJournal, type JournalEvent, type Outcome, type StepError, type StepState, topLevelIndex } from './interpreter.ts';
export { isPlaybookFile, loadPlaybookDirectory, type PlaybookDirectory, type PlaybookFile } from './playbook-directory.ts';
export {
  closest,
  formatIssues,
  type LoadResult,
  loadPlaybookFile,
  type PlaybookCatalog,
  type PlaybookIssue,
  parsePlaybookYaml,
  type ValidationContext,
  validatePlaybook,
} from './playbook-loader.ts';
export { Playbook, playbookJsonSchema, STEP_KINDS, type Step, type StepKind } from './playbook-schema.ts';
export { PlaybookTestFile, type PlaybookTestResult, playbookFileForTest, runPlaybookTests } from './playbook-testing.ts';
export { runJson, stepJson, waitJson } from './run-json.ts';
export { type ActionInterceptor, Runner, type RunnerEvent, type RunnerOptions, type RunnerStats, toStepError, validateRunInputs } from './runner.ts';
export { type SecretSource, scrubSecrets } from './secrets.ts';
