/**
 * policy: the guardrails between a playbook's intent and an action with impact `write` or
 * `destructive`. `evaluatePolicy` decides allow / require_approval / deny from rules that are data
 * (YAML, validated, versioned, testable); the approvals model turns require_approval into an M-of-N,
 * signed, separation-of-duties decision; the channel builders carry approval requests to Slack and
 * Teams and verify what comes back. Everything here is pure: no I/O, time from a Clock, keys passed in.
 */
export { ApprovalDesk, type ApprovalDeskOptions, type ApprovalStorage, type ApprovalStorageRecord } from './approval-desk.ts';
export {
  type ApprovalChannel,
  type ApprovalContext,
  type ApprovalKey,
  type ApprovalKeyring,
  type ApprovalLinkClaims,
  type ApprovalPrincipal,
  type ApprovalRequest,
  type ApprovalResolution,
  type ApprovalStatus,
  type ArgumentEdit,
  type ArgumentEditParams,
  approvalFromStorage,
  approvalKeyring,
  approvalStorageRecord,
  BREAK_GLASS_MIN_REASON,
  breakGlass,
  claimApprovalLink,
  countedApprovers,
  createApprovalLinkToken,
  type DecideResult,
  type DecisionVerb,
  decideApproval,
  type EvidenceRef,
  editApprovalArguments,
  excludedApprovers,
  expireApproval,
  hashArguments,
  LINK_DEFAULT_TTL_MS,
  LINK_MAX_TTL_MS,
  MemoryOnceLedger,
  MIN_KEY_BYTES,
  type OnceLedger,
  type OpenApprovalParams,
  openApprovalRequest,
  type SignedDecision,
  signDecision,
  type Vote,
  verifyApprovalLinkToken,
  verifyDecisionSignature,
  verifyRelease,
} from './approvals.ts';
export { type ApprovalSummary, summarizeApproval } from './channels/approval-summary.ts';
export { type ApprovalEmail, type ApprovalEmailLinks, buildApprovalEmail, buildApprovalOutcomeEmail, buildOnCallPageEmail } from './channels/email.ts';
export {
  buildSlackApprovalMessage,
  buildSlackDecisionUpdate,
  buildSlackOnCallPage,
  escapeSlackText,
  parseSlackApprovalClick,
  parseSlackStepClick,
  SLACK_APPROVE_ACTION,
  SLACK_REJECT_ACTION,
  SLACK_STEP_APPROVE_ACTION,
  SLACK_STEP_REJECT_ACTION,
  SLACK_TOLERANCE_MS,
  type SlackApprovalClick,
  type SlackMessage,
  type SlackStepClick,
  type SlackVerification,
  slackSignature,
  verifySlackRequest,
} from './channels/slack.ts';
export {
  buildSlackStepApprovalMessage,
  buildStepApprovalEmail,
  buildStepApprovalOutcomeEmail,
  buildTeamsStepApprovalCard,
  buildTeamsStepDecisionCard,
  type StepApprovalFacts,
  type StepApprovalOutcome,
  stepApprovalTitle,
} from './channels/step-approval.ts';
export {
  ADAPTIVE_CARD_CONTENT_TYPE,
  ADAPTIVE_CARD_VERSION,
  buildTeamsApprovalCard,
  buildTeamsDecisionCard,
  buildTeamsOnCallCard,
  escapeCardText,
  type TeamsCardOptions,
  type TeamsWebhookMessage,
  wrapAdaptiveCard,
} from './channels/teams.ts';
export { FIELD_CATALOG, OPERATORS } from './conditions.ts';
export { DEFAULT_POLICY_YAML, defaultPolicy } from './default-policy.ts';
export { type DecidingRule, evaluatePolicy, type PolicyDecision, type PolicyReason } from './evaluate-policy.ts';
export {
  type ApprovalRequirement,
  type CompiledPolicy,
  compilePolicy,
  DECISIONS,
  type DecisionKind,
  formatPolicyIssues,
  type PolicyIssue,
  type PolicyLoadResult,
  parsePolicyYaml,
} from './policy-document.ts';
export {
  type AllowLists,
  type AssetRecord,
  CRITICALITIES,
  type Criticality,
  IMPACTS,
  type Impact,
  type PolicyInput,
  PolicyInputSchema,
  type PolicyTarget,
  type Principal,
  parsePolicyInput,
  targetsFromArguments,
  VERDICTS,
  type Verdict,
} from './policy-input.ts';
export { type PolicyDecisionRecord, policyDecisionRecord, policyDeniedError } from './policy-records.ts';
export { type PolicyTestDocument, type PolicyTestResult, parsePolicyTestsYaml, runPolicyTests } from './policy-testing.ts';
