import { z } from 'zod';
import { RiposteError } from '../core/index.ts';
import { type ActionDefinition, defineAction } from '../engine/index.ts';
import type { HuntService } from './hunt-service.ts';

/**
 * The engine actions `playbooks/registry-hunt.yml` stages a remediation with. The engine has no construct
 * for waves computed at run time, so the wave logic lives here and the playbook calls it once per wave:
 * `hunt.plan` (read) returns the waves, `hunt.remediate_wave` (destructive) remediates one. The wave's
 * `hosts` are an argument so the engine's policy sees them as targets: a critical server (CMDB) in a wave
 * holds that step for approval like any other destructive action. Hunt runs live in the server process;
 * elsewhere (a scale-out worker, `playbook test` without mocks) the actions say so instead of guessing.
 */
const WaveOut = z.object({
  wave: z.number(),
  name: z.string(),
  status: z.string(),
  halted: z.boolean(),
  failures: z.number(),
  hosts: z.array(z.object({ hostname: z.string(), status: z.string(), error: z.string().nullable() })),
  message: z.string().nullable(),
});

function service(hunts: HuntService | undefined): HuntService {
  if (!hunts)
    throw new RiposteError('hunt.unavailable', 'hunt runs live in the `riposte serve` process; run this playbook there', { status: 503, retryable: false });
  return hunts;
}

export function huntActions(hunts?: HuntService): ActionDefinition[] {
  return [
    defineAction({
      id: 'hunt.plan',
      title: 'Remediation waves of a hunt',
      description: 'The hosts a hunt found, cut into waves (canary, 10%, rest) with their criticality.',
      impact: 'read',
      input: z.object({ hunt_id: z.string().min(1).max(100) }),
      output: z.object({
        wave_count: z.number(),
        waves: z.array(z.object({ index: z.number(), name: z.string(), hosts: z.array(z.string()), critical: z.array(z.string()) })),
      }),
      async run(input) {
        const waves = await service(hunts).plan(input.hunt_id);
        return {
          wave_count: waves.length,
          waves: waves.map((w) => ({
            index: w.index,
            name: w.name,
            hosts: w.hosts.map((h) => h.hostname),
            critical: w.hosts.filter((h) => h.criticality === 'critical').map((h) => h.hostname),
          })),
        };
      },
    }),
    defineAction({
      id: 'hunt.remediate_wave',
      title: 'Remediate one wave of a hunt',
      description:
        'Deletes the hunted registry values on the wave’s hosts, verifies by re-query, and past the failure threshold halts and rolls the wave back with each deletion’s inverse.',
      impact: 'destructive',
      input: z.object({
        hunt_id: z.string().min(1).max(100),
        wave: z.number().int().min(0).max(100),
        /** The wave's hostnames, from hunt.plan: the policy targets of this step. */
        hosts: z.array(z.string().min(1).max(255)).max(100_000),
        failure_threshold: z.number().min(0).max(1).optional(),
        /** How sure the hunt is (0–100), for policy's confidence tiers; a hit on an exact IOC is high. */
        confidence: z.number().min(0).max(100).optional(),
      }),
      output: WaveOut,
      describeEffect: (input) => `would remediate wave ${input.wave} of hunt ${input.hunt_id}: ${input.hosts.length} host(s): ${input.hosts.join(', ')}`,
      async run(input) {
        const hunts$ = service(hunts);
        const planned = (await hunts$.plan(input.hunt_id))[input.wave];
        const expected = new Set(planned?.hosts.map((h) => h.hostname) ?? []);
        // The approval was given for these hosts: refuse to act on a different set.
        if (!planned || input.hosts.length !== expected.size || input.hosts.some((h) => !expected.has(h)))
          throw new RiposteError('hunt.plan_changed', `wave ${input.wave} of hunt ${input.hunt_id} no longer has exactly the hosts given`, { status: 409 });
        const out = await hunts$.runs.remediateWave(input.hunt_id, input.wave, {
          ...(input.failure_threshold !== undefined ? { failureThreshold: input.failure_threshold } : {}),
        });
        return {
          wave: out.wave.index,
          name: out.wave.name,
          status: out.wave.status,
          halted: out.halted,
          failures: out.wave.failures,
          hosts: out.wave.hosts.map((h) => ({ hostname: h.hostname, status: h.status, error: h.error ?? null })),
          message: out.remediation.message,
        };
      },
    }),
  ];
}
