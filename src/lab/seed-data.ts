/**
 * The simulators' shared, deterministic world: every vendor answers about the same IPs, so an enrichment
 * run sees a consistent story. Profiles cover the cases a verdict must get right: a clear malicious host,
 * a suspicious one, a benign resolver, a noisy internet scanner (seen everywhere, harmless), a CDN edge and
 * a partner's gateway (both with a stray false-positive detection), and an IP nobody knows.
 */
export type IpProfile = 'malicious' | 'suspicious' | 'benign' | 'scanner' | 'cdn' | 'partner' | 'unknown';

export interface SeedIp {
  ip: string;
  profile: IpProfile;
  asn: number;
  asOwner: string;
  country: string;
  city: string;
  hostname?: string;
  /** VirusTotal engines flagging it malicious / suspicious. */
  vtMalicious: number;
  vtSuspicious: number;
  abuseScore: number;
  abuseReports: number;
  usageType: string;
  greynoise?: { noise: boolean; riot: boolean; classification: 'malicious' | 'benign' | 'unknown'; name: string };
  otxPulses: number;
  ports: number[];
  vulns: string[];
  tags: string[];
}

export const SEED_IPS: readonly SeedIp[] = [
  {
    ip: '185.220.101.47',
    profile: 'malicious',
    asn: 208294,
    asOwner: 'Relayon Anonymisation Services',
    country: 'DE',
    city: 'Frankfurt am Main',
    vtMalicious: 14,
    vtSuspicious: 3,
    abuseScore: 100,
    abuseReports: 2841,
    usageType: 'Data Center/Web Hosting/Transit',
    greynoise: { noise: true, riot: false, classification: 'malicious', name: 'unknown' },
    otxPulses: 37,
    ports: [22, 80, 443, 9001],
    vulns: ['CVE-2023-38408'],
    tags: ['tor', 'brute-force'],
  },
  {
    ip: '45.155.205.233',
    profile: 'malicious',
    asn: 49505,
    asOwner: 'OOO Network of data-centers Selectel',
    country: 'RU',
    city: 'Moscow',
    vtMalicious: 9,
    vtSuspicious: 2,
    abuseScore: 87,
    abuseReports: 412,
    usageType: 'Data Center/Web Hosting/Transit',
    otxPulses: 12,
    ports: [80, 443, 8443],
    vulns: [],
    tags: ['c2'],
  },
  {
    ip: '91.240.118.172',
    profile: 'suspicious',
    asn: 48282,
    asOwner: 'Hosting technology LTD',
    country: 'NL',
    city: 'Amsterdam',
    vtMalicious: 1,
    vtSuspicious: 2,
    abuseScore: 34,
    abuseReports: 9,
    usageType: 'Data Center/Web Hosting/Transit',
    otxPulses: 1,
    ports: [22, 3389],
    vulns: [],
    tags: [],
  },
  {
    ip: '8.8.8.8',
    profile: 'benign',
    asn: 15169,
    asOwner: 'Google LLC',
    country: 'US',
    city: 'Mountain View',
    hostname: 'dns.google',
    vtMalicious: 0,
    vtSuspicious: 0,
    abuseScore: 0,
    abuseReports: 31,
    usageType: 'Content Delivery Network',
    greynoise: { noise: false, riot: true, classification: 'benign', name: 'Google Public DNS' },
    otxPulses: 0,
    ports: [53, 443],
    vulns: [],
    tags: [],
  },
  {
    ip: '71.6.135.131',
    profile: 'scanner',
    asn: 10439,
    asOwner: 'CariNet, Inc.',
    country: 'US',
    city: 'San Diego',
    hostname: 'census7.shodan.io',
    vtMalicious: 2,
    vtSuspicious: 1,
    abuseScore: 100,
    abuseReports: 5320,
    usageType: 'Data Center/Web Hosting/Transit',
    greynoise: { noise: true, riot: false, classification: 'benign', name: 'Shodan.io' },
    otxPulses: 4,
    ports: [],
    vulns: [],
    tags: ['scanner'],
  },
  {
    ip: '104.16.132.229',
    profile: 'cdn',
    asn: 13335,
    asOwner: 'Cloudflare, Inc.',
    country: 'US',
    city: 'San Francisco',
    vtMalicious: 2,
    vtSuspicious: 0,
    abuseScore: 0,
    abuseReports: 3,
    usageType: 'Content Delivery Network',
    greynoise: { noise: false, riot: true, classification: 'benign', name: 'Cloudflare CDN' },
    otxPulses: 6,
    ports: [80, 443, 8080],
    vulns: [],
    tags: ['cdn'],
  },
  {
    ip: '195.12.50.17',
    profile: 'partner',
    asn: 64512,
    asOwner: 'Northwind Traders',
    country: 'GB',
    city: 'London',
    hostname: 'vpn.northwind.example',
    vtMalicious: 1,
    vtSuspicious: 0,
    abuseScore: 12,
    abuseReports: 2,
    usageType: 'Commercial',
    otxPulses: 0,
    ports: [443, 500, 4500],
    vulns: [],
    tags: ['vpn'],
  },
];

/** An IP no source has data on. */
export const UNKNOWN_IP = '37.48.64.9';

export function seedFor(ip: string): SeedIp | undefined {
  return SEED_IPS.find((seed) => seed.ip === ip);
}

export interface SeedDomain {
  domain: string;
  malicious: number;
  categories: Record<string, string>;
}
export const SEED_DOMAINS: readonly SeedDomain[] = [
  { domain: 'login-micros0ft-support.com', malicious: 11, categories: { Forcepoint: 'phishing' } },
  { domain: 'example.com', malicious: 0, categories: { Forcepoint: 'reference materials' } },
];

export interface SeedFile {
  md5: string;
  sha1: string;
  sha256: string;
  name: string;
  malicious: number;
  label?: string;
}
export const SEED_FILES: readonly SeedFile[] = [
  {
    md5: '44d88612fea8a8f36de82e1278abb02f',
    sha1: '3395856ce81f2b7382dee72602f798b642f14140',
    sha256: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f',
    name: 'eicar.com',
    malicious: 61,
    label: 'eicar/test',
  },
];

export const SEED_URLS: ReadonlyArray<{ url: string; malicious: number; title: string }> = [
  { url: 'http://login-micros0ft-support.com/office365/auth.php', malicious: 9, title: 'Sign in to your account' },
];

/** The key every simulator accepts (any other key is refused like the vendor would). */
export const SIMULATOR_API_KEY = 'riposte-lab-key';

// --- The organisation's own side: what internal logs saw and what the CMDB knows -------------------------

/** An internal host of the seeded enterprise (ServiceNow CMDB records, Splunk/Elastic log sources). */
export interface SeedAsset {
  name: string;
  ip: string;
  owner: string;
  /** ServiceNow `busines_criticality` choice (sic: ServiceNow's field name). */
  businessCriticality: '1 - most critical' | '2 - somewhat critical' | '3 - less critical' | '4 - not critical';
  /** ServiceNow `used_for`. */
  usedFor: 'Production' | 'Staging' | 'Development' | 'Test';
  table: 'cmdb_ci_server' | 'cmdb_ci_computer';
}

export const SEED_ASSETS: readonly SeedAsset[] = [
  {
    name: 'srv-erp-01',
    ip: '10.20.1.10',
    owner: 'Finance Applications',
    businessCriticality: '1 - most critical',
    usedFor: 'Production',
    table: 'cmdb_ci_server',
  },
  { name: 'srv-web-02', ip: '10.20.1.12', owner: 'Web Platform', businessCriticality: '2 - somewhat critical', usedFor: 'Production', table: 'cmdb_ci_server' },
  { name: 'srv-db-01', ip: '10.20.1.20', owner: 'Database Team', businessCriticality: '1 - most critical', usedFor: 'Production', table: 'cmdb_ci_server' },
  {
    name: 'srv-jump-01',
    ip: '10.20.1.30',
    owner: 'IT Operations',
    businessCriticality: '2 - somewhat critical',
    usedFor: 'Production',
    table: 'cmdb_ci_server',
  },
  // A load-balanced pair and its virtual address: three CIs answer for 10.20.1.100 (exercises paging).
  { name: 'srv-portal-a', ip: '10.20.1.100', owner: 'Web Platform', businessCriticality: '3 - less critical', usedFor: 'Production', table: 'cmdb_ci_server' },
  {
    name: 'srv-portal-b',
    ip: '10.20.1.100',
    owner: 'Web Platform',
    businessCriticality: '2 - somewhat critical',
    usedFor: 'Production',
    table: 'cmdb_ci_server',
  },
  {
    name: 'srv-portal-vip',
    ip: '10.20.1.100',
    owner: 'Network Team',
    businessCriticality: '3 - less critical',
    usedFor: 'Production',
    table: 'cmdb_ci_server',
  },
  {
    name: 'srv-build-03',
    ip: '10.20.7.3',
    owner: 'Engineering Productivity',
    businessCriticality: '4 - not critical',
    usedFor: 'Development',
    table: 'cmdb_ci_server',
  },
  {
    name: 'ws-finance-07',
    ip: '10.20.4.17',
    owner: 'Alice Martin',
    businessCriticality: '3 - less critical',
    usedFor: 'Production',
    table: 'cmdb_ci_computer',
  },
  { name: 'ws-eng-23', ip: '10.20.5.23', owner: 'Bob Chen', businessCriticality: '4 - not critical', usedFor: 'Development', table: 'cmdb_ci_computer' },
];

/** Internal hosts that talked to each seeded external IP, and how often, over the week before SEEN. */
export const SEED_INTERNAL_SIGHTINGS: Readonly<Record<string, ReadonlyArray<{ host: string; count: number }>>> = {
  '185.220.101.47': [
    { host: 'ws-finance-07', count: 12 },
    { host: 'srv-web-02', count: 5 },
  ],
  '45.155.205.233': [{ host: 'ws-eng-23', count: 3 }],
  '91.240.118.172': [{ host: 'srv-jump-01', count: 1 }],
  '8.8.8.8': Array.from({ length: 25 }, (_, i) => ({ host: `ws-${String(i + 1).padStart(3, '0')}`, count: 10 })),
  '104.16.132.229': [
    { host: 'ws-finance-07', count: 30 },
    { host: 'ws-eng-23', count: 30 },
  ],
  '195.12.50.17': [{ host: 'srv-erp-01', count: 40 }],
};

/** The fixed end of the seeded week (2026-11-20T08:30:00Z), so answers are deterministic. */
export const SEED_NOW_MS = Date.UTC(2026, 10, 20, 8, 30);

export interface SeedLogEvent {
  id: string;
  timeMs: number;
  host: string;
  srcIp: string;
  destIp: string;
  destPort: number;
  action: 'allowed' | 'blocked';
}

/** The raw connection events behind SEED_INTERNAL_SIGHTINGS, oldest first, spread evenly over 7 days. */
export function seedLogEvents(ip: string): SeedLogEvent[] {
  const rows = SEED_INTERNAL_SIGHTINGS[ip] ?? [];
  const total = rows.reduce((sum, row) => sum + row.count, 0);
  const events: SeedLogEvent[] = [];
  let n = 0;
  for (const row of rows) {
    const asset = SEED_ASSETS.find((a) => a.name === row.host);
    for (let i = 0; i < row.count; i++, n++) {
      events.push({
        id: `${ip}-${n}`,
        timeMs: SEED_NOW_MS - 7 * 86_400_000 + Math.floor(((n + 1) * 7 * 86_400_000) / (total + 1)),
        host: row.host,
        srcIp: asset?.ip ?? `10.20.9.${(n % 250) + 1}`,
        destIp: ip,
        destPort: seedFor(ip)?.ports[0] ?? 443,
        action: 'allowed',
      });
    }
  }
  return events.sort((a, b) => a.timeMs - b.timeMs || (a.id < b.id ? -1 : 1));
}

/** MISP threat levels: 1 High, 2 Medium, 3 Low, 4 Undefined. */
export interface SeedMispAttribute {
  value: string;
  type: 'ip-dst' | 'ip-src' | 'domain' | 'md5';
  toIds: boolean;
  eventInfo: string;
  threatLevel: 1 | 2 | 3 | 4;
  tags: string[];
  /** Which of the two lab MISP servers hold it. */
  servers: ReadonlyArray<'misp_a' | 'misp_b'>;
}

export const SEED_MISP: readonly SeedMispAttribute[] = [
  {
    value: '185.220.101.47',
    type: 'ip-dst',
    toIds: true,
    eventInfo: 'Tor exit relays used for credential stuffing against VPN portals',
    threatLevel: 1,
    tags: ['tlp:amber', 'misp-galaxy:mitre-attack-pattern="Brute Force - T1110"', 'estimative-language:likelihood-probability="very-likely"'],
    servers: ['misp_a', 'misp_b'],
  },
  {
    value: '45.155.205.233',
    type: 'ip-dst',
    toIds: true,
    eventInfo: 'Cobalt Strike team server infrastructure',
    threatLevel: 2,
    tags: ['tlp:green', 'kill-chain:Command and Control'],
    servers: ['misp_a'],
  },
  {
    value: '91.240.118.172',
    type: 'ip-src',
    toIds: false,
    eventInfo: 'RDP scanning observed by sharing community',
    threatLevel: 3,
    tags: ['tlp:green'],
    servers: ['misp_b'],
  },
  {
    value: '104.16.132.229',
    type: 'ip-dst',
    toIds: false,
    eventInfo: 'Phishing kit hosted behind Cloudflare',
    threatLevel: 3,
    tags: ['tlp:white', 'false-positive:risk="high"'],
    servers: ['misp_a'],
  },
];
