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
 * Normalises one vendor payload into alerts. Some sources batch (an array, or Elastic's `{alerts: [...]}`);
 * every alert is validated before any is accepted, so a request is taken whole or refused whole.
 */
export function adaptPayload(source: AlertSource, payload: unknown, receivedAt: number): NormalizedAlert[] {
  let items: unknown[] = [payload];
  if (Array.isArray(payload)) items = payload;
  else if (source !== 'sentinel' && payload !== null && typeof payload === 'object' && Array.isArray((payload as { alerts?: unknown }).alerts)) {
    items = (payload as { alerts: unknown[] }).alerts;
  }
  if (items.length === 0) throw invalidInput('the request holds no alerts (an empty array)');
  if (items.length > MAX_ALERTS_PER_REQUEST) throw invalidInput(`a request may carry at most ${MAX_ALERTS_PER_REQUEST} alerts; got ${items.length}`);
  return items.map((item, i) => ADAPTERS[source](item, receivedAt, items.length > 1 ? `alert[${i}]` : 'alert'));
}
