import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { SEED_DOMAINS, SEED_FILES, SEED_URLS, type SeedIp, SIMULATOR_API_KEY, seedFor } from './seed-data.ts';
import { headerValue, type SimAnswer, type SimRequest, type VendorHandler } from './simulator-server.ts';

/**
 * Handlers answering like the six threat-intel services the IP scenario queries, with their documented
 * paths, auth headers, response shapes and error bodies. Data comes from seed-data.ts, so answers are
 * deterministic; timestamps are fixed for the same reason.
 */
const SEEN_AT = Date.UTC(2026, 10, 20, 8, 30) / 1000;
const SEEN_ISO = new Date(SEEN_AT * 1000).toISOString();

function analysisStats(malicious: number, suspicious: number) {
  const total = 94;
  return { harmless: Math.max(0, 62 - malicious), malicious, suspicious, undetected: total - 62 - suspicious, timeout: 0 };
}

function engines(malicious: number) {
  const names = [
    'Fortinet',
    'Kaspersky',
    'BitDefender',
    'ESET',
    'Sophos',
    'CRDF',
    'alphaMountain.ai',
    'Webroot',
    'G-Data',
    'Lionic',
    'SOCRadar',
    'CyRadar',
    'Certego',
    'ArcSight Threat Intelligence',
    'Emsisoft',
  ];
  const results: Record<string, unknown> = {};
  names.forEach((name, i) => {
    results[name] =
      i < malicious
        ? { category: 'malicious', result: 'malicious', method: 'blacklist', engine_name: name }
        : { category: 'harmless', result: 'clean', method: 'blacklist', engine_name: name };
  });
  return results;
}

// --- VirusTotal v3 --------------------------------------------------------------------------------------
const vtError = (status: number, message?: string) => {
  const code =
    status === 401
      ? 'WrongCredentialsError'
      : status === 403
        ? 'ForbiddenError'
        : status === 404
          ? 'NotFoundError'
          : status === 429
            ? 'QuotaExceededError'
            : status === 400
              ? 'InvalidArgumentError'
              : 'TransientError';
  return {
    error: {
      code,
      message: message ?? (status === 404 ? 'Resource not found' : status === 429 ? 'Quota exceeded' : status === 401 ? 'Wrong API key' : 'Error'),
    },
  };
};

export const virusTotalHandler: VendorHandler = {
  vendor: 'virustotal',
  errorBody: vtError,
  handle(request) {
    const key = headerValue(request.headers, 'x-apikey');
    if (!key) return { status: 401, body: { error: { code: 'AuthenticationRequiredError', message: 'X-Apikey header is missing' } } };
    if (key !== SIMULATOR_API_KEY) return { status: 401, body: vtError(401) };
    const match = /^\/api\/v3\/(ip_addresses|domains|urls|files)\/([^/]+)$/.exec(request.path);
    if (!match || request.method !== 'GET') return { status: 404, body: vtError(404, `Resource not found: ${request.path}`) };
    const [, collection, id] = match as unknown as [string, string, string];
    const self = `https://www.virustotal.com/api/v3/${collection}/${id}`;
    if (collection === 'ip_addresses') {
      if (!isIP(id)) return { status: 400, body: vtError(400, `${id} is not a valid IP address`) };
      const seed = seedFor(id);
      return {
        status: 200,
        body: {
          data: {
            id,
            type: 'ip_address',
            links: { self },
            attributes: {
              as_owner: seed?.asOwner ?? 'Unknown',
              asn: seed?.asn ?? 0,
              country: seed?.country ?? '',
              network: seed ? `${id.split('.').slice(0, 3).join('.')}.0/24` : '',
              reputation: seed ? -seed.vtMalicious * 3 : 0,
              tags: seed?.tags ?? [],
              last_analysis_date: SEEN_AT,
              last_analysis_stats: analysisStats(seed?.vtMalicious ?? 0, seed?.vtSuspicious ?? 0),
              last_analysis_results: engines(seed?.vtMalicious ?? 0),
              total_votes: { harmless: seed?.profile === 'benign' ? 12 : 0, malicious: seed?.vtMalicious ?? 0 },
            },
          },
        },
      };
    }
    if (collection === 'domains') {
      const seed = SEED_DOMAINS.find((d) => d.domain === id.toLowerCase());
      if (!seed) return { status: 404, body: vtError(404, `Domain "${id}" not found`) };
      return {
        status: 200,
        body: {
          data: {
            id: seed.domain,
            type: 'domain',
            links: { self },
            attributes: {
              categories: seed.categories,
              reputation: -seed.malicious,
              registrar: 'NameCheap, Inc.',
              creation_date: SEEN_AT - 86400 * 9,
              last_analysis_date: SEEN_AT,
              last_analysis_stats: analysisStats(seed.malicious, 0),
              tags: [],
            },
          },
        },
      };
    }
    if (collection === 'urls') {
      const seed = SEED_URLS.find((u) => Buffer.from(u.url).toString('base64url') === id || createHash('sha256').update(u.url).digest('hex') === id);
      if (!seed) return { status: 404, body: vtError(404, `URL "${id}" not found`) };
      return {
        status: 200,
        body: {
          data: {
            id: createHash('sha256').update(seed.url).digest('hex'),
            type: 'url',
            links: { self },
            attributes: {
              url: seed.url,
              last_final_url: seed.url,
              title: seed.title,
              last_analysis_date: SEEN_AT,
              last_analysis_stats: analysisStats(seed.malicious, 0),
              reputation: -seed.malicious,
              tags: [],
            },
          },
        },
      };
    }
    const hash = id.toLowerCase();
    const file = SEED_FILES.find((f) => f.md5 === hash || f.sha1 === hash || f.sha256 === hash);
    if (!file) return { status: 404, body: vtError(404, `File "${id}" not found`) };
    return {
      status: 200,
      body: {
        data: {
          id: file.sha256,
          type: 'file',
          links: { self },
          attributes: {
            md5: file.md5,
            sha1: file.sha1,
            sha256: file.sha256,
            meaningful_name: file.name,
            size: 68,
            type_description: 'Text',
            last_analysis_date: SEEN_AT,
            last_analysis_stats: analysisStats(file.malicious, 0),
            popular_threat_classification: file.label ? { suggested_threat_label: file.label } : undefined,
            reputation: -file.malicious,
            tags: ['text'],
          },
        },
      },
    };
  },
};

// --- AbuseIPDB v2 ---------------------------------------------------------------------------------------
const abuseError = (status: number, message?: string) => ({
  errors: [
    {
      detail:
        message ??
        (status === 401
          ? 'Authentication failed. Your API key is either missing, incorrect, or revoked. Note: The APIv2 key differs from the APIv1 key.'
          : status === 429
            ? 'Daily rate limit of 1000 requests exceeded for this endpoint. See headers for additional details.'
            : status === 404
              ? 'The requested resource could not be found.'
              : 'The server encountered an error.'),
      status,
    },
  ],
});

export const abuseIpdbHandler: VendorHandler = {
  vendor: 'abuseipdb',
  errorBody: abuseError,
  handle(request) {
    if (headerValue(request.headers, 'key') !== SIMULATOR_API_KEY) return { status: 401, body: abuseError(401) };
    if (request.path !== '/api/v2/check' || request.method !== 'GET') return { status: 404, body: abuseError(404) };
    const ip = request.query.get('ipAddress') ?? '';
    if (!isIP(ip))
      return {
        status: 422,
        body: {
          errors: [
            {
              detail: 'The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).',
              status: 422,
              source: { parameter: 'ipAddress' },
            },
          ],
        },
      };
    const seed = seedFor(ip);
    return {
      status: 200,
      headers: { 'x-ratelimit-limit': '1000', 'x-ratelimit-remaining': '999' },
      body: {
        data: {
          ipAddress: ip,
          isPublic: true,
          ipVersion: isIP(ip),
          isWhitelisted: seed?.profile === 'benign' || seed?.profile === 'cdn',
          abuseConfidenceScore: seed?.abuseScore ?? 0,
          countryCode: seed?.country ?? null,
          usageType: seed?.usageType ?? null,
          isp: seed?.asOwner ?? null,
          domain: seed?.hostname?.split('.').slice(-2).join('.') ?? null,
          hostnames: seed?.hostname ? [seed.hostname] : [],
          isTor: seed?.tags.includes('tor') ?? false,
          totalReports: seed?.abuseReports ?? 0,
          numDistinctUsers: Math.ceil((seed?.abuseReports ?? 0) / 7),
          lastReportedAt: seed && seed.abuseReports > 0 ? SEEN_ISO.replace('.000Z', '+00:00') : null,
        },
      },
    };
  },
};

// --- GreyNoise Community --------------------------------------------------------------------------------
export const greyNoiseHandler: VendorHandler = {
  vendor: 'greynoise',
  errorBody: (status, message) => ({
    message:
      message ??
      (status === 401 ? 'Authentication failed' : status === 429 ? 'You have hit your daily rate limit of 50 requests per day.' : 'Internal server error'),
    ...(status === 429 ? { plan: 'community', 'rate-limit': '50-lookups/day', plan_url: 'https://greynoise.io/pricing' } : {}),
  }),
  handle(request) {
    const key = headerValue(request.headers, 'key');
    if (key !== undefined && key !== SIMULATOR_API_KEY) return { status: 401, body: { message: 'Authentication failed' } };
    const match = /^\/v3\/community\/([^/]+)$/.exec(request.path);
    if (!match) return { status: 404, body: { message: 'Not found' } };
    const ip = match[1] as string;
    if (isIP(ip) !== 4) return { status: 400, body: { message: 'Request is not a valid routable IPv4 address' } };
    const seed = seedFor(ip);
    if (!seed?.greynoise)
      return { status: 404, body: { ip, noise: false, riot: false, message: 'IP not observed scanning the internet or contained in RIOT data set.' } };
    const g = seed.greynoise;
    return {
      status: 200,
      body: {
        ip,
        noise: g.noise,
        riot: g.riot,
        classification: g.classification,
        name: g.name,
        // RIOT answers link to the RIOT page, noise answers to the IP page (as the Community API does).
        link: `https://viz.greynoise.io/${g.riot ? 'riot' : 'ip'}/${ip}`,
        last_seen: SEEN_ISO.slice(0, 10),
        message: 'Success',
      },
    };
  },
};

// --- AlienVault OTX -------------------------------------------------------------------------------------
function pulses(seed: SeedIp | undefined) {
  const count = seed?.otxPulses ?? 0;
  return Array.from({ length: Math.min(count, 10) }, (_, i) => ({
    id: createHash('md5').update(`${seed?.ip}-${i}`).digest('hex').slice(0, 24),
    name: seed?.profile === 'cdn' ? `Phishing kit hosting wave ${i + 1}` : `${seed?.tags[0] ?? 'malicious'} infrastructure ${i + 1}`,
    tags: seed?.tags ?? [],
    created: SEEN_ISO,
    modified: SEEN_ISO,
    adversary: '',
    malware_families: [],
    attack_ids: seed?.tags.includes('brute-force') ? [{ id: 'T1110', name: 'Brute Force', display_name: 'T1110 - Brute Force' }] : [],
  }));
}

export const otxHandler: VendorHandler = {
  vendor: 'otx',
  errorBody: (status, message) => ({
    detail:
      message ?? (status === 403 ? 'Invalid API key' : status === 404 ? 'endpoint not found' : status === 429 ? 'Request was throttled.' : 'Server error'),
  }),
  handle(request) {
    if (headerValue(request.headers, 'x-otx-api-key') !== SIMULATOR_API_KEY) return { status: 403, body: { detail: 'Invalid API key' } };
    const match = /^\/api\/v1\/indicators\/(IPv4|IPv6)\/([^/]+)\/general$/.exec(request.path);
    if (!match) return { status: 404, body: { detail: 'endpoint not found' } };
    const ip = match[2] as string;
    if (!isIP(ip)) return { status: 400, body: { detail: 'Invalid IP' } };
    const seed = seedFor(ip);
    return {
      status: 200,
      body: {
        indicator: ip,
        type: match[1],
        type_title: match[1],
        whois: `http://whois.domaintools.com/${ip}`,
        reputation: 0,
        asn: seed ? `AS${seed.asn} ${seed.asOwner}` : null,
        country_code: seed?.country ?? null,
        city: seed?.city ?? null,
        base_indicator: {},
        pulse_info: {
          count: seed?.otxPulses ?? 0,
          pulses: pulses(seed),
          references: [],
          related: { alienvault: { adversary: [], malware_families: [], industries: [] }, other: { adversary: [], malware_families: [], industries: [] } },
        },
        false_positive: [],
        validation: seed?.profile === 'benign' || seed?.profile === 'cdn' ? [{ source: 'whitelist', message: 'Whitelisted IP', name: 'Whitelisted IP' }] : [],
        sections: ['general', 'geo', 'reputation', 'url_list', 'passive_dns', 'malware', 'nids_list', 'http_scans'],
      },
    };
  },
};

// --- Shodan ---------------------------------------------------------------------------------------------
export const shodanHandler: VendorHandler = {
  vendor: 'shodan',
  errorBody: (status, message) => ({
    error:
      message ??
      (status === 401
        ? 'Please provide a valid API key'
        : status === 404
          ? 'No information available for that IP.'
          : status === 429
            ? 'Rate limit reached (1/second)'
            : 'Internal error'),
  }),
  handle(request) {
    if (request.query.get('key') !== SIMULATOR_API_KEY) return { status: 401, body: { error: 'Please provide a valid API key' } };
    const match = /^\/shodan\/host\/([^/]+)$/.exec(request.path);
    if (!match) return { status: 404, body: { error: 'Not found' } };
    const ip = match[1] as string;
    if (!isIP(ip)) return { status: 400, body: { error: 'Invalid IP' } };
    const seed = seedFor(ip);
    if (!seed || seed.ports.length === 0) return { status: 404, body: { error: 'No information available for that IP.' } };
    return {
      status: 200,
      body: {
        ip_str: ip,
        ip: ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0),
        ports: seed.ports,
        hostnames: seed.hostname ? [seed.hostname] : [],
        domains: seed.hostname ? [seed.hostname.split('.').slice(-2).join('.')] : [],
        org: seed.asOwner,
        isp: seed.asOwner,
        asn: `AS${seed.asn}`,
        os: null,
        country_code: seed.country,
        country_name: seed.country,
        city: seed.city,
        last_update: SEEN_ISO.replace('Z', ''),
        tags: seed.tags,
        vulns: seed.vulns,
        // minify=true: "only the list of ports and the general host information, no banners".
        ...(request.query.get('minify') === 'true'
          ? {}
          : {
              data: seed.ports.map((port) => ({
                port,
                transport: 'tcp',
                product: port === 22 ? 'OpenSSH' : port === 443 ? 'nginx' : undefined,
                timestamp: SEEN_ISO.replace('Z', ''),
              })),
            }),
      },
    };
  },
};

// --- ipinfo ---------------------------------------------------------------------------------------------
const ipinfoError = (status: number, message?: string) => ({
  status,
  error: {
    title: status === 403 ? 'Unknown token' : status === 404 ? 'Wrong ip' : status === 429 ? 'Rate limit exceeded' : 'Server error',
    message:
      message ??
      (status === 403
        ? "Please ensure you've entered your token correctly."
        : status === 404
          ? 'Please provide a valid IP address'
          : status === 429
            ? 'Upgrade to increase your usage limits.'
            : 'Server error'),
  },
});

export const ipinfoHandler: VendorHandler = {
  vendor: 'ipinfo',
  errorBody: ipinfoError,
  handle(request): SimAnswer {
    const auth = headerValue(request.headers, 'authorization');
    if (auth !== `Bearer ${SIMULATOR_API_KEY}`) return { status: 403, body: ipinfoError(403) };
    const ip = request.path.replace(/^\//, '').replace(/\/json$/, '');
    if (!isIP(ip)) return { status: 404, body: ipinfoError(404) };
    if (/^(10\.|127\.|192\.168\.)/.test(ip)) return { status: 200, body: { ip, bogon: true } };
    const seed = seedFor(ip);
    return {
      status: 200,
      body: {
        ip,
        ...(seed?.hostname ? { hostname: seed.hostname } : {}),
        city: seed?.city ?? 'Unknown',
        region: seed?.city ?? 'Unknown',
        country: seed?.country ?? 'US',
        loc: '0.0000,0.0000',
        org: seed ? `AS${seed.asn} ${seed.asOwner}` : 'AS0 Unknown',
        timezone: 'UTC',
        ...(seed?.profile === 'cdn' || seed?.ip === '8.8.8.8' ? { anycast: true } : {}),
        privacy: {
          vpn: seed?.tags.includes('vpn') ?? false,
          proxy: false,
          tor: seed?.tags.includes('tor') ?? false,
          relay: false,
          hosting: seed?.usageType.startsWith('Data Center') ?? false,
          service: '',
        },
      },
    };
  },
};

export const THREAT_INTEL_HANDLERS = [virusTotalHandler, abuseIpdbHandler, greyNoiseHandler, otxHandler, shodanHandler, ipinfoHandler] as const;

/** Quiet unused-parameter lint for handlers that ignore the request. */
export type { SimRequest };
