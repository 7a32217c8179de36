import { z } from 'zod';
import { EvidenceSchema, isIpAddress } from '../../core/index.ts';

/** Shared schema pieces for threat-intel connectors. */
export const ipAddress = () => z.string().trim().refine(isIpAddress, { message: 'must be an IPv4 or IPv6 address' });

/** A connector's reliability default, overridable per instance. */
export const reliabilityConfig = (fallback: number) => z.number().min(0).max(10).default(fallback);

export const ReputationOutput = z.object({
  observable: z.string(),
  found: z.boolean(),
  evidence: EvidenceSchema,
});

export const FIFTEEN_MINUTES = 15 * 60_000;
