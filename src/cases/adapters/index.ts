import { invalidInput } from '../../core/index.ts';
import type { AlertSource, NormalizedAlert } from '../model.ts';
import { adaptElastic } from './elastic.ts';
import { adaptGeneric } from './generic.ts';
import { adaptSentinel } from './sentinel.ts';
import { adaptSplunk } from './splunk.ts';

const ADAPTERS: Record<AlertSource, (payload: unknown, receivedAt: number, where?: string) => NormalizedAlert> = {
  generic: adaptGeneric,
  splunk: adaptSplunk,
  elastic: adaptElastic,
  sentinel: adaptSentinel,
};

/** Most alerts a single request may carry. */
export const MAX_ALERTS_PER_REQUEST = 1000;

/**
 * Deepest nesting of objects and arrays a payload may have. Real SIEM payloads stay under a dozen levels;
 * the limit keeps recursive processing (canonical JSON for dedup keys, observable extraction, storage)
 * far from the stack limit, so a hostile body is a 400 rather than a crash.
 */
export const MAX_PAYLOAD_DEPTH = 64;

/** Iterative, so measuring a hostile document cannot itself overflow the stack. */
function payloadDepthExceeds(payload: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[payload, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (value === null || typeof value !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * Normalises one vendor payload into alerts. Some sources batch (an array, or Elastic's `{alerts: [...]}`);
 * every alert is validated before any is accepted, so a request is taken whole or refused whole.
 */
export function adaptPayload(source: AlertSource, payload: unknown, receivedAt: number): NormalizedAlert[] {
  if (payloadDepthExceeds(payload, MAX_PAYLOAD_DEPTH)) throw invalidInput(`the request nests objects and arrays deeper than ${MAX_PAYLOAD_DEPTH} levels`);
  let items: unknown[] = [payload];
  if (Array.isArray(payload)) items = payload;
  else if (source !== 'sentinel' && payload !== null && typeof payload === 'object' && Array.isArray((payload as { alerts?: unknown }).alerts)) {
    items = (payload as { alerts: unknown[] }).alerts;
  }
  if (items.length === 0) throw invalidInput('the request holds no alerts (an empty array)');
  if (items.length > MAX_ALERTS_PER_REQUEST) throw invalidInput(`a request may carry at most ${MAX_ALERTS_PER_REQUEST} alerts; got ${items.length}`);
  return items.map((item, i) => ADAPTERS[source](item, receivedAt, items.length > 1 ? `alert[${i}]` : 'alert'));
}
