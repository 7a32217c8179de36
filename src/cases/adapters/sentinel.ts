import { type ExtractedObservable, invalidInput, ObservableSet, type ObservableType, tryNormalizeObservable } from '../../core/index.ts';
import { type NormalizedAlert, SEVERITY_ID, severityFromAny } from '../model.ts';
import { contentKey, field, firstText, limit, parseTime, requireObject, stringList, techniquesIn, text } from './shared.ts';

/**
 * Microsoft Sentinel incidents as an automation rule's Logic App ("Microsoft Sentinel incident" trigger)
 * forwards them: `{object: {id, name, properties: {title, description, severity, status, incidentNumber,
 * incidentUrl, createdTimeUtc, labels, additionalData: {alertProductNames, tactics, techniques},
 * relatedAnalyticRuleIds, relatedEntities: [{kind, properties}]}}}`. A bare `{properties: …}` or the
 * properties object itself are accepted too (people post `triggerBody()?['object']` as often as the whole).
 */
export function adaptSentinel(payload: unknown, receivedAt: number): NormalizedAlert {
  const body = requireObject(payload, 'Sentinel payload');
  const incident = (field(body, 'object') as Record<string, unknown> | undefined) ?? body;
  const props = (field(incident, 'properties') as Record<string, unknown> | undefined) ?? incident;
  const title = text(props.title);
  if (title === undefined)
    throw invalidInput('Sentinel payload object.properties.title is required (send the incident trigger body)', { field: 'object.properties.title' });
  const severity = severityFromAny(props.severity) ?? 'medium';
  const number = firstText(props, 'incidentNumber');
  const uid = firstText(incident, 'name') ?? number ?? null;
  const ruleIds = stringList(props.relatedAnalyticRuleIds);
  const products = stringList(field(props, 'additionalData.alertProductNames'));
  return {
    source: 'sentinel',
    time: parseTime(props.firstActivityTimeUtc) ?? parseTime(props.createdTimeUtc) ?? receivedAt,
    severity,
    severity_id: SEVERITY_ID[severity],
    title: limit(number ? `${title} (Sentinel #${number})` : title, 500),
    description: text(props.description) ?? '',
    rule: { name: limit(title, 500), uid: ruleIds[0]?.split('/').at(-1) ?? null },
    product: { name: products[0] ?? 'Microsoft Sentinel', vendor: 'Microsoft' },
    uid,
    dedup_key: firstText(incident, 'id') ?? uid ?? contentKey(body),
    url: text(props.incidentUrl) ?? null,
    observables: sentinelEntities(props.relatedEntities),
    techniques: techniquesIn(field(props, 'additionalData.techniques'), field(props, 'additionalData.subTechniques')),
    tags: (Array.isArray(props.labels) ? props.labels : []).flatMap((l) => stringList((l as { labelName?: unknown })?.labelName)),
    raw: payload,
  };
}

/** Sentinel entity kinds → observables (https://learn.microsoft.com/azure/sentinel/entities-reference). */
function sentinelEntities(entities: unknown): ExtractedObservable[] {
  const out = new ObservableSet();
  if (!Array.isArray(entities)) return [];
  for (const [i, entity] of entities.entries()) {
    if (entity === null || typeof entity !== 'object') continue;
    const kind = String((entity as { kind?: unknown }).kind ?? '').toLowerCase();
    const p = ((entity as { properties?: unknown }).properties ?? entity) as Record<string, unknown>;
    const where = `relatedEntities[${i}]`;
    const add = (type: ObservableType, value: unknown) => {
      const raw = text(value);
      if (raw === undefined) return;
      const normalised = tryNormalizeObservable(type, raw);
      if (normalised !== undefined) out.add({ type, value: normalised, field: where });
    };
    switch (kind) {
      case 'ip': {
        const address = text(p.address);
        if (address) add(address.includes(':') ? 'ipv6' : 'ipv4', address);
        break;
      }
      case 'account': {
        const name = text(p.accountName);
        const suffix = text(p.upnSuffix);
        if (name && suffix) add('email', `${name}@${suffix}`);
        if (name) add('user', text(p.ntDomain) ? `${p.ntDomain}\\${name}` : name);
        break;
      }
      case 'host': {
        const host = text(p.hostName);
        const domain = text(p.dnsDomain);
        if (host) add('hostname', domain ? `${host}.${domain}` : host);
        break;
      }
      case 'url':
        add('url', p.url);
        break;
      case 'filehash': {
        const algorithm = String(p.algorithm ?? '').toLowerCase();
        if (algorithm === 'sha256' || algorithm === 'sha1' || algorithm === 'md5') add(algorithm, p.hashValue);
        break;
      }
      case 'file':
        add('file_name', p.fileName ?? p.name);
        break;
      case 'dnsresolution':
      case 'dns':
        add('domain', p.domainName);
        break;
      case 'process':
        add('process', p.commandLine ?? p.processName);
        break;
      case 'registrykey':
        add('registry_key', `${text(p.hive) ?? ''}\\${text(p.key) ?? ''}`);
        break;
      case 'registryvalue':
        add('registry_value', `${text(p.key) ?? ''}\\${text(p.valueName) ?? ''}`);
        break;
      case 'mailbox':
        add('email', p.mailboxPrimaryAddress);
        break;
      case 'mailmessage':
        add('email', p.sender ?? p.p1Sender);
        add('email', p.recipient);
        break;
      case 'malware':
        add('file_name', p.malwareName);
        break;
    }
  }
  return out.list();
}
