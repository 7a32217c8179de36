/**
 * CMDB from an asset list file (CSV with a header row, or a JSON array): who owns an address or host and
 * how critical it is, for the response tier (a critical server goes to approval, not auto-block).
 * Columns/keys: `ip` (an address or CIDR), `hostname`, `name`, `owner`, `criticality`
 * (low | medium | high | critical), `environment`. The file is re-read when it changes.
 */
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { CidrSet, isIpAddress, parseCidr, RiposteError } from '../../core/index.ts';
import { action, defineIntegration } from '../sdk/index.ts';

const CRITICALITY = ['low', 'medium', 'high', 'critical'] as const;

const Asset = z.object({
  name: z.string(),
  ip: z.string().nullable(),
  hostname: z.string().nullable(),
  owner: z.string().nullable(),
  criticality: z.enum(CRITICALITY),
  environment: z.string().nullable(),
});
type Asset = z.output<typeof Asset>;

interface AssetIndex {
  assets: Asset[];
  ranges: Array<{ set: CidrSet; asset: Asset }>;
  byHost: Map<string, Asset>;
}

/** A small RFC 4180 reader: quoted fields, doubled quotes, commas and newlines inside quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f !== '')) rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f !== '')) rows.push(row);
  return rows;
}

export function parseAssets(text: string, format: 'csv' | 'json', source: string): Asset[] {
  let records: Array<Record<string, unknown>>;
  if (format === 'json') {
    try {
      const parsed = JSON.parse(text) as unknown;
      records = (Array.isArray(parsed) ? parsed : ((parsed as { assets?: unknown }).assets ?? [])) as Array<Record<string, unknown>>;
    } catch (error) {
      throw new RiposteError('integration.bad_response', `CMDB file ${source} is not valid JSON`, { cause: error });
    }
  } else {
    const [header, ...rows] = parseCsv(text);
    if (!header) return [];
    const keys = header.map((h) => h.trim().toLowerCase());
    records = rows.map((row) => Object.fromEntries(keys.map((key, i) => [key, row[i]?.trim() ?? ''])));
  }
  return records.map((record, index) => {
    const text = (key: string) => {
      const value = record[key];
      return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
    };
    const criticality = (text('criticality') ?? 'medium').toLowerCase();
    if (!(CRITICALITY as readonly string[]).includes(criticality))
      throw new RiposteError(
        'integration.bad_response',
        `CMDB file ${source}, record ${index + 1}: criticality ${JSON.stringify(criticality)} is not one of ${CRITICALITY.join(', ')}`,
      );
    const ip = text('ip');
    if (ip && !isIpAddress(ip) && !parseCidr(ip))
      throw new RiposteError('integration.bad_response', `CMDB file ${source}, record ${index + 1}: ip ${JSON.stringify(ip)} is not an address or CIDR`);
    const hostname = text('hostname')?.toLowerCase() ?? null;
    return {
      name: text('name') ?? hostname ?? ip ?? `asset ${index + 1}`,
      ip,
      hostname,
      owner: text('owner'),
      criticality: criticality as Asset['criticality'],
      environment: text('environment'),
    };
  });
}

const indexes = new Map<string, { mtimeMs: number; index: AssetIndex }>();

function assetIndex(file: string): AssetIndex {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch (error) {
    throw new RiposteError('integration.unavailable', `CMDB file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? error}`, {
      retryable: true,
      cause: error,
    });
  }
  const cached = indexes.get(file);
  if (cached && cached.mtimeMs === mtimeMs) return cached.index;
  const assets = parseAssets(readFileSync(file, 'utf8'), file.endsWith('.json') ? 'json' : 'csv', file);
  const ranges = assets.filter((a) => a.ip).map((asset) => ({ set: new CidrSet([asset.ip as string]), asset }));
  // Most specific range first, so a host entry beats the subnet it sits in.
  ranges.sort((a, b) => (parseCidr(b.asset.ip as string)?.prefix ?? 128) - (parseCidr(a.asset.ip as string)?.prefix ?? 128));
  const byHost = new Map(assets.filter((a) => a.hostname).map((a) => [a.hostname as string, a]));
  const index = { assets, ranges, byHost };
  indexes.set(file, { mtimeMs, index });
  return index;
}

export default defineIntegration({
  id: 'cmdb',
  title: 'CMDB (asset list file)',
  config: z.object({ file: z.string().min(1).optional() }),
  secrets: {},
  healthCheck: { action: 'lookup', input: { value: '127.0.0.1' } },
  actions: {
    lookup: action({
      title: 'Owner and criticality of an IP or host',
      impact: 'read',
      input: z.object({ value: z.string().trim().min(1) }),
      output: z.object({
        value: z.string(),
        found: z.boolean(),
        asset: Asset.nullable(),
        criticality: z.enum(CRITICALITY).nullable(),
        owner: z.string().nullable(),
      }),
      async run({ input, config }) {
        const file = config.file as string | undefined;
        if (!file)
          throw new RiposteError(
            'integration.not_configured',
            'cmdb: no asset file configured (riposte integrations add cmdb --product cmdb --set file=/path/assets.csv)',
          );
        const index = assetIndex(file);
        const asset = isIpAddress(input.value) ? index.ranges.find((r) => r.set.match(input.value))?.asset : index.byHost.get(input.value.toLowerCase());
        return { value: input.value, found: asset !== undefined, asset: asset ?? null, criticality: asset?.criticality ?? null, owner: asset?.owner ?? null };
      },
    }),
  },
});
