import { createHash } from 'node:crypto';

/**
 * A simulated enterprise fleet for hunts and remediation: Windows endpoints with hostname, OS, CMDB
 * criticality, online/offline state, users, and registry contents — the usual Run-key values every machine
 * has, plus, on a chosen few, an implant (T1547.001 Run-key persistence). Everything derives from a seed,
 * so a test or benchmark sees the same fleet every time. The EDR simulators answer from this state and
 * remediation changes it (values deleted, hosts isolated), so a re-query verifies the cleanup.
 *
 * Registry keys are stored with full hive names, as Windows APIs and osquery show them
 * (HKEY_LOCAL_MACHINE\…, HKEY_USERS\<SID>\…).
 */

export type Criticality = 'low' | 'medium' | 'high' | 'critical';

export interface RegistryValue {
  name: string;
  type: 'REG_SZ' | 'REG_EXPAND_SZ' | 'REG_DWORD';
  data: string;
}

export interface FleetUser {
  name: string;
  sid: string;
}

export interface FleetEndpoint {
  /** 40 hex characters, as Defender machine ids look. */
  id: string;
  hostname: string;
  /** Fully qualified, as EDR consoles list it. */
  fqdn: string;
  os: 'Windows 11' | 'Windows 10' | 'Windows Server 2022' | 'Windows Server 2019';
  role: 'workstation' | 'server';
  criticality: Criticality;
  ip: string;
  online: boolean;
  isolated: boolean;
  users: FleetUser[];
  /** Key path (full hive name) → values. */
  registry: Map<string, RegistryValue[]>;
  /** Where the implant was planted (empty when clean). */
  implants: Array<{ key: string; value: string }>;
}

export interface FleetImplant {
  /** `HKCU` plants it under each user's Run key, `HKLM` under the machine's. */
  hive: 'HKCU' | 'HKLM';
  valueName: string;
  /** `{user}` is replaced by the user's name. */
  data: string;
}

export interface FleetOptions {
  size: number;
  seed?: number;
  /** How many endpoints carry the implant (default 1% of the fleet, at least 1). */
  infected?: number;
  /** Share of endpoints offline (default 5%). */
  offlineRatio?: number;
  /** Share of servers (default 10%). */
  serverRatio?: number;
  implant?: FleetImplant;
  /** Make sure one infected endpoint is a critical server (default true): the approval path of the demo. */
  infectCriticalServer?: boolean;
  domain?: string;
}

export const RUN_KEY = 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run';
export const HKLM_RUN = `HKEY_LOCAL_MACHINE\\${RUN_KEY}`;
export const DEFAULT_IMPLANT: FleetImplant = {
  hive: 'HKCU',
  valueName: 'OneDriveUpdate',
  data: 'C:\\Users\\{user}\\AppData\\Roaming\\Microsoft\\OneDriveUpdate\\odu.exe --silent',
};

const FIRST_NAMES = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'mallory',
  'oscar',
  'peggy',
  'rupert',
  'sybil',
  'trent',
  'victor',
  'walter',
];
const DEPARTMENTS = ['fin', 'hr', 'eng', 'ops', 'sales', 'legal', 'it'];
const SERVER_ROLES = ['dc', 'sql', 'web', 'file', 'app', 'exch', 'backup'];

/** A small deterministic generator (LCG): the same seed gives the same fleet on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function userHiveRun(user: FleetUser): string {
  return `HKEY_USERS\\${user.sid}\\${RUN_KEY}`;
}

export class Fleet {
  readonly endpoints: FleetEndpoint[];
  readonly implant: FleetImplant;
  private readonly byId = new Map<string, FleetEndpoint>();
  private readonly byHostname = new Map<string, FleetEndpoint>();

  constructor(endpoints: FleetEndpoint[], implant: FleetImplant) {
    this.endpoints = endpoints;
    this.implant = implant;
    for (const e of endpoints) {
      this.byId.set(e.id, e);
      this.byHostname.set(e.hostname.toLowerCase(), e);
    }
  }

  endpoint(idOrHostname: string): FleetEndpoint | undefined {
    return this.byId.get(idOrHostname) ?? this.byHostname.get(idOrHostname.toLowerCase());
  }

  infected(): FleetEndpoint[] {
    return this.endpoints.filter((e) => e.implants.length > 0);
  }

  /** Every registry value of an endpoint as osquery's `registry` table rows. */
  registryRows(endpoint: FleetEndpoint): Array<{ key: string; name: string; path: string; type: string; data: string }> {
    const rows: Array<{ key: string; name: string; path: string; type: string; data: string }> = [];
    for (const [key, values] of endpoint.registry) {
      for (const v of values) rows.push({ key, name: v.name, path: `${key}\\${v.name}`, type: v.type, data: v.data });
    }
    return rows;
  }

  /** The registry values as Sysmon EventID 13 events (HKLM\…, HKU\… as Sysmon writes them). */
  registryEvents(endpoint: FleetEndpoint): Array<Record<string, unknown>> {
    return this.registryRows(endpoint).map((row) => ({
      EventID: 13,
      EventType: 'SetValue',
      Computer: endpoint.fqdn,
      TargetObject: row.path.replace(/^HKEY_LOCAL_MACHINE\\/, 'HKLM\\').replace(/^HKEY_USERS\\/, 'HKU\\'),
      Details: row.type === 'REG_DWORD' ? `DWORD (0x${Number(row.data).toString(16).padStart(8, '0')})` : row.data,
    }));
  }

  /** Deletes a value; returns the deleted value (for evidence and rollback) or undefined when absent. */
  deleteValue(endpoint: FleetEndpoint, key: string, name: string): RegistryValue | undefined {
    const entry = [...endpoint.registry.entries()].find(([k]) => k.toLowerCase() === key.toLowerCase());
    if (!entry) return undefined;
    const [actualKey, values] = entry;
    const index = values.findIndex((v) => v.name.toLowerCase() === name.toLowerCase());
    if (index < 0) return undefined;
    const [removed] = values.splice(index, 1);
    endpoint.implants = endpoint.implants.filter((i) => !(i.key === actualKey && i.value.toLowerCase() === name.toLowerCase()));
    return removed;
  }

  /** Writes a value back (rollback of a deletion). */
  setValue(endpoint: FleetEndpoint, key: string, value: RegistryValue): void {
    const existing = [...endpoint.registry.keys()].find((k) => k.toLowerCase() === key.toLowerCase()) ?? key;
    const values = endpoint.registry.get(existing) ?? [];
    const others = values.filter((v) => v.name.toLowerCase() !== value.name.toLowerCase());
    endpoint.registry.set(existing, [...others, { ...value }]);
    if (value.name === this.implant.valueName) endpoint.implants.push({ key: existing, value: value.name });
  }
}

/** Builds the fleet. Infected endpoints are chosen by the seed; with `infectCriticalServer`, one is a critical server. */
export function createFleet(options: FleetOptions): Fleet {
  const size = options.size;
  if (!Number.isInteger(size) || size < 1) throw new Error('fleet size must be a positive integer');
  const random = seededRandom(options.seed ?? 1);
  const domain = options.domain ?? 'corp.example.com';
  const implant = options.implant ?? DEFAULT_IMPLANT;
  const serverRatio = options.serverRatio ?? 0.1;
  const offlineRatio = options.offlineRatio ?? 0.05;
  const endpoints: FleetEndpoint[] = [];
  for (let i = 0; i < size; i++) {
    const server = random() < serverRatio;
    const n = String(i + 1).padStart(5, '0');
    const hostname = server ? `srv-${SERVER_ROLES[i % SERVER_ROLES.length]}-${n}` : `ws-${DEPARTMENTS[i % DEPARTMENTS.length]}-${n}`;
    const r = random();
    const criticality: Criticality = server ? (r < 0.3 ? 'critical' : r < 0.8 ? 'high' : 'medium') : r < 0.05 ? 'high' : r < 0.6 ? 'medium' : 'low';
    const userCount = server ? 1 : 1 + Math.floor(random() * 2);
    const users: FleetUser[] = [];
    for (let u = 0; u < userCount; u++) {
      const name = server ? 'svc_admin' : (FIRST_NAMES[(i * 7 + u * 3) % FIRST_NAMES.length] as string);
      users.push({ name, sid: `S-1-5-21-3623811015-3361044348-30300820-${1000 + ((i * 3 + u) % 9000)}` });
    }
    const registry = new Map<string, RegistryValue[]>();
    registry.set(HKLM_RUN, [
      { name: 'SecurityHealth', type: 'REG_EXPAND_SZ', data: '%windir%\\system32\\SecurityHealthSystray.exe' },
      ...(random() < 0.5
        ? [{ name: 'VMware User Process', type: 'REG_SZ' as const, data: '"C:\\Program Files\\VMware\\VMware Tools\\vmtoolsd.exe" -n vmusr' }]
        : []),
    ]);
    registry.set('HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows Defender\\Features', [{ name: 'TamperProtection', type: 'REG_DWORD', data: '5' }]);
    for (const user of users) {
      registry.set(
        userHiveRun(user),
        server
          ? []
          : [
              { name: 'OneDrive', type: 'REG_SZ', data: `"C:\\Users\\${user.name}\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe" /background` },
              ...(random() < 0.4
                ? [
                    {
                      name: 'com.squirrel.Teams.Teams',
                      type: 'REG_SZ' as const,
                      data: `C:\\Users\\${user.name}\\AppData\\Local\\Microsoft\\Teams\\Update.exe --processStart "Teams.exe"`,
                    },
                  ]
                : []),
            ],
      );
    }
    const id = createHash('sha1')
      .update(`${options.seed ?? 1}:${i}`)
      .digest('hex');
    endpoints.push({
      id,
      hostname,
      fqdn: `${hostname}.${domain}`,
      os: server ? (random() < 0.6 ? 'Windows Server 2022' : 'Windows Server 2019') : random() < 0.7 ? 'Windows 11' : 'Windows 10',
      role: server ? 'server' : 'workstation',
      criticality,
      ip: `10.${Math.floor(i / 65_024) % 256}.${Math.floor(i / 254) % 256}.${(i % 254) + 1}`,
      online: random() >= offlineRatio,
      isolated: false,
      users,
      registry,
      implants: [],
    });
  }
  const fleet = new Fleet(endpoints, implant);
  const infectedCount = Math.min(size, options.infected ?? Math.max(1, Math.round(size / 100)));
  // A seeded shuffle picks the infected; a critical server goes first when asked for.
  const order = endpoints.map((e, index) => ({ e, k: random(), index })).sort((a, b) => a.k - b.k || a.index - b.index);
  const chosen: FleetEndpoint[] = [];
  if (options.infectCriticalServer ?? true) {
    const critical = order.find((o) => o.e.role === 'server' && o.e.criticality === 'critical');
    if (critical) chosen.push(critical.e);
  }
  for (const o of order) {
    if (chosen.length >= infectedCount) break;
    if (!chosen.includes(o.e)) chosen.push(o.e);
  }
  for (const endpoint of chosen.slice(0, infectedCount)) {
    const targets =
      implant.hive === 'HKLM' ? [{ key: HKLM_RUN, user: endpoint.users[0] as FleetUser }] : endpoint.users.map((u) => ({ key: userHiveRun(u), user: u }));
    for (const { key, user } of targets)
      fleet.setValue(endpoint, key, { name: implant.valueName, type: 'REG_SZ', data: implant.data.replace('{user}', user.name) });
  }
  return fleet;
}
