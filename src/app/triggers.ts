import type { CaseEvent, CasesService } from '../cases/index.ts';
import { describeError, type Logger } from '../core/index.ts';
import { compileTemplate, type DataValue, type Engine, isTruthy, type Playbook, type PlaybookDirectory, toData } from '../engine/index.ts';
import type { PhishingIntake } from './phishing-intake.ts';

/**
 * Playbook triggers: the meeting point of cases and the engine, which know nothing of each other.
 *
 * - `trigger.alert` runs a playbook for each ingested alert (new, joined or repeat) whose `where`
 *   template is truthy, with inputs computed by `trigger.alert.inputs` templates over `alert`, `case`
 *   and `result`. Repeats of an alert do not start runs again: the first delivery already did.
 * - `trigger.event` with `name: case.created | case.updated | alert.ingested` runs on that case event,
 *   with `event` in the template context.
 * - `trigger.event` with `name: phishing.reported` runs for each analysis of a user-reported e-mail, with
 *   `event` (report_id, analysis_id, case_id, reporter, verdict, subject…) in the template context.
 * Each run started here is linked to its case, so it shows on the case's timeline.
 */
export interface TriggerWiring {
  cases: CasesService;
  engine: Engine;
  playbooks: PlaybookDirectory;
  logger: Logger;
}

interface TriggerMatch {
  playbook: Playbook;
  inputs: Record<string, DataValue>;
  caseId: string | undefined;
}

export function wireTriggers({ cases, engine, playbooks, logger }: TriggerWiring): () => void {
  return cases.subscribe((event) => {
    const matches = matchTriggers(event, playbooks, logger);
    if (matches.length === 0) return;
    void startTriggeredRuns(matches, engine, cases, logger);
  });
}

/** Which playbooks this event starts, with their inputs. Pure apart from logging; exported for tests. */
export function matchTriggers(event: CaseEvent, playbooks: PlaybookDirectory, logger?: Logger): TriggerMatch[] {
  const matches: TriggerMatch[] = [];
  const context = contextOf(event);
  const caseId = event.type === 'alert.ingested' ? event.result.case_id : event.case_id;
  for (const file of playbooks.files()) {
    const playbook = file.playbook;
    const trigger = playbook?.trigger;
    // Files with validation issues have no playbook: they never start runs.
    if (!playbook || !trigger) continue;
    const spec =
      event.type === 'alert.ingested' && trigger.alert && event.result.outcome !== 'repeat'
        ? trigger.alert
        : trigger.event && trigger.event.name === event.type
          ? trigger.event
          : undefined;
    if (!spec) continue;
    try {
      if (spec.where !== undefined && !isTruthy(compileTemplate(spec.where).evaluate(context))) continue;
      const inputs: Record<string, DataValue> = {};
      for (const [name, template] of Object.entries(spec.inputs ?? {})) {
        const value = typeof template === 'string' ? compileTemplate(template).evaluate(context) : toData(template);
        if (value !== undefined && value !== null) inputs[name] = value;
      }
      matches.push({ playbook, inputs, caseId });
    } catch (error) {
      logger?.warn({ playbook: playbook.id, event: event.type, err: describeError(error) }, 'trigger condition failed; playbook not started');
    }
  }
  return matches;
}

function contextOf(event: CaseEvent): Record<string, DataValue> {
  if (event.type === 'alert.ingested') {
    return {
      alert: toData(event.alert) ?? null,
      result: toData(event.result) ?? null,
      case: { id: event.result.case_id, number: event.result.case_number },
      event: toData(event) ?? null,
    };
  }
  return { event: toData(event) ?? null, case: { id: event.case_id } };
}

async function startTriggeredRuns(matches: TriggerMatch[], engine: Engine, cases: CasesService, logger: Logger): Promise<void> {
  for (const match of matches) {
    try {
      // The case goes on the run row in the same insert, so the run's first guarded step already knows it.
      const runId = await engine.startRun(match.playbook, match.inputs, {
        startedBy: `trigger:${match.playbook.id}`,
        ...(match.caseId ? { caseId: match.caseId } : {}),
      });
      if (match.caseId) await cases.linkRun(match.caseId, runId);
      logger.info({ playbook: match.playbook.id, run_id: runId, case_id: match.caseId }, 'trigger started a run');
    } catch (error) {
      // Bad inputs from an alert must not stop other playbooks or crash intake; the log says why.
      logger.warn({ playbook: match.playbook.id, case_id: match.caseId, err: describeError(error) }, 'trigger could not start a run');
    }
  }
}

/** Starts `trigger.event: { name: phishing.reported }` playbooks for each analysis the intake stores. */
export function wirePhishingTriggers({
  intake,
  cases,
  engine,
  playbooks,
  logger,
}: Omit<TriggerWiring, 'cases'> & { intake: PhishingIntake; cases: CasesService }): () => void {
  return intake.subscribe((event) => {
    const context: Record<string, DataValue> = { event: toData(event) ?? null, case: { id: event.case_id, number: event.case_number } };
    const matches: TriggerMatch[] = [];
    for (const file of playbooks.files()) {
      const playbook = file.playbook;
      const spec = playbook?.trigger?.event;
      if (!playbook || !spec || spec.name !== event.name) continue;
      try {
        if (spec.where !== undefined && !isTruthy(compileTemplate(spec.where).evaluate(context))) continue;
        const inputs: Record<string, DataValue> = {};
        for (const [name, template] of Object.entries(spec.inputs ?? {})) {
          const value = typeof template === 'string' ? compileTemplate(template).evaluate(context) : toData(template);
          if (value !== undefined && value !== null) inputs[name] = value;
        }
        matches.push({ playbook, inputs, caseId: event.case_id });
      } catch (error) {
        logger.warn({ playbook: playbook.id, event: event.name, err: describeError(error) }, 'trigger condition failed; playbook not started');
      }
    }
    if (matches.length > 0) void startTriggeredRuns(matches, engine, cases, logger);
  });
}
