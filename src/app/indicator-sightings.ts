import type { CasesService } from '../cases/index.ts';
import { describeError, type Logger } from '../core/index.ts';
import type { IndicatorHit, IndicatorStore } from '../intel/index.ts';

/**
 * Sightings recorded back: every alert that arrives is checked against the indicator index (its IPs, domains
 * with their parents, URLs and hashes), and each active indicator it hits gets a sighting at the alert's time —
 * in the index and, durably, in the store. A repeat of an alert already received is not a new sighting.
 * Returns the function that stops listening.
 */
export function wireIndicatorSightings(options: { cases: CasesService; indicators: IndicatorStore; logger?: Logger }): () => void {
  const { cases, indicators, logger } = options;
  return cases.subscribe((event) => {
    if (event.type !== 'alert.ingested' || event.result.outcome === 'repeat') return;
    const hits = new Map<string, IndicatorHit>();
    const index = indicators.index;
    for (const o of event.alert.observables) {
      let found: IndicatorHit[] = [];
      if (o.type === 'ipv4' || o.type === 'ipv6' || o.type === 'cidr') found = index.lookupIp(o.value);
      else if (o.type === 'domain' || o.type === 'hostname') found = index.lookupDomain(o.value);
      else if (o.type === 'url') found = index.lookupUrl(o.value);
      else if (o.type === 'md5' || o.type === 'sha1' || o.type === 'sha256') found = index.lookupHash(o.type, o.value);
      for (const hit of found) hits.set(hit.indicatorId, hit);
    }
    for (const id of hits.keys())
      indicators
        .recordSighting(id, event.alert.time)
        .catch((error) => logger?.warn({ indicator: id, err: describeError(error) }, 'could not record an indicator sighting'));
  });
}
