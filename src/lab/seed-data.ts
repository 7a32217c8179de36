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
