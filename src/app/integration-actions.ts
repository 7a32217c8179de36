import { z } from 'zod';
import { type ActionDefinition, defineAction } from '../engine/index.ts';
import type { IntegrationInstance } from '../integrations/sdk/index.ts';
import { collectEvidence, type KnownGoodLists, scoreVerdict } from '../intel/index.ts';

/**
 * Adapts integration instances to engine actions: each instance's action `x` becomes `<instance>.x`
 * (`virustotal.ip_report`, `misp_eu.search`), with its impact, schemas and inverse, and the engine's
 * idempotency key and abort signal passed through. The engine validates input again with the same schema,
 * so a playbook that passes a bad argument fails at load time, not at the vendor.
 */
export function integrationActions(instances: readonly IntegrationInstance[]): ActionDefinition[] {
  const actions: ActionDefinition[] = [];
  for (const instance of instances) {
    // A model's answers reach cases only through the AI service and its guardrails (docs/ai.md), never as
    // a playbook step whose output other steps would act on.
    if (instance.integration.id === 'llm') continue;
    for (const name of instance.actionNames()) {
      const spec = instance.action(name);
      actions.push(
        defineAction({
          id: `${instance.name}.${name}`,
          title: `${instance.integration.title}: ${spec.title}`,
          ...(spec.description ? { description: spec.description } : {}),
          impact: spec.impact,
          input: spec.input as z.ZodType<unknown>,
          output: spec.output as z.ZodType<unknown>,
          ...(spec.inverse ? { inverse: `${instance.name}.${spec.inverse}` } : {}),
          ...(spec.inverseInput ? { inverseInput: spec.inverseInput } : {}),
          ...(spec.defaultTtl !== undefined ? { defaultTtl: spec.defaultTtl } : {}),
          run: (input, context) => instance.run(name, input, { idempotencyKey: context.idempotencyKey, signal: context.signal }),
          describeEffect: (input) => `${instance.integration.title} (${instance.name}) ${name} ${JSON.stringify(input)}`,
        }) as ActionDefinition,
      );
    }
  }
  return actions;
}

const VerdictInput = z
  .object({
    observable: z.string().min(1),
    /** Enrichment outputs: a parallel group's outputs by step id, a list of outputs, or bare evidence. */
    evidence: z.unknown(),
    /** Sources that should have answered (named as missing when they did not). */
    expected: z.array(z.string()).optional(),
  })
  .strict();

/** `intel.verdict`: known-good lists first, then the documented scoring (intel/verdicts). */
export function verdictAction(lists: () => KnownGoodLists) {
  return defineAction({
    id: 'intel.verdict',
    title: 'Verdict from enrichment evidence',
    impact: 'read',
    input: VerdictInput,
    run(input) {
      const { evidence, failures } = collectEvidence(input.evidence);
      const answered = new Set(evidence.map((e) => e.source));
      // A failed step's key (`abuse`) is reported as missing even when the playbook did not list it.
      const expected = [...(input.expected ?? []), ...Object.keys(failures).filter((key) => !answered.has(key))];
      // `now` turns on decay for evidence that says when it was last seen (docs/verdicts.md).
      return scoreVerdict({
        observable: input.observable,
        evidence,
        knownGood: lists().check(input.observable),
        expectedSources: expected,
        failures,
        now: Date.now(),
      });
    },
  });
}
