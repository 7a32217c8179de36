import { createHash } from 'node:crypto';
import { SEED_IPS } from './seed-data.ts';

/**
 * Realistic SIEM alerts for the lab: what Splunk's webhook alert action posts for an Enterprise Security
 * notable about traffic between an internal host and an outside IP (`{result, sid, search_name, app,
 * owner, results_link}`), and a helper that sends one to a running Riposte's webhook endpoint.
 */
export interface IpAlertOptions {
  /** The outside IP the alert is about (default: the seeded malicious host). */
  ip?: string;
  /** The internal host that talked to it. */
  dest?: string;
  /** Seconds since the epoch for `_time` (default: now). */
  time?: number;
}

export const DEFAULT_ALERT_IP = SEED_IPS.find((s) => s.profile === 'malicious')?.ip ?? '185.220.101.47';

export function splunkIpAlert(options: IpAlertOptions = {}): Record<string, unknown> {
  const ip = options.ip ?? DEFAULT_ALERT_IP;
  const time = options.time ?? Math.floor(Date.now() / 1000);
  const digest = createHash('sha256').update(`${ip}|${time}`).digest('hex');
  const sid = `scheduler__admin_U0EtU2VjdXJpdHk__RMD5${digest.slice(0, 16)}_at_${time}_${Number.parseInt(digest.slice(16, 20), 16)}`;
  const dest = options.dest ?? '10.20.30.40';
  return {
    sid,
    search_name: 'Network - Connection to Known Malicious Host - Rule',
    app: 'SplunkEnterpriseSecuritySuite',
    owner: 'nobody',
    results_link: `https://splunk.example.com:8000/app/SplunkEnterpriseSecuritySuite/@go?sid=${sid}`,
    result: {
      _time: String(time),
      event_id: `${digest.slice(0, 8)}-${digest.slice(8, 12)}-${digest.slice(12, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`,
      rule_name: 'Network - Connection to Known Malicious Host - Rule',
      rule_title: `Outbound connection from ${dest} to suspicious host ${ip}`,
      rule_description: 'An internal host exchanged traffic with an address reported by threat intelligence.',
      security_domain: 'network',
      urgency: 'high',
      src: dest,
      dest: ip,
      dest_port: '443',
      transport: 'tcp',
      action: 'allowed',
      bytes_out: '48213',
      app: 'ssl',
      sourcetype: 'pan:traffic',
      'annotations.mitre_attack': ['T1071.001'],
    },
  };
}

export interface FireResult {
  status: number;
  body: unknown;
}

/** Posts the alert to `<server>/api/v1/webhooks/splunk` with the source's webhook token. */
export async function fireIpAlert(server: string, token: string, options: IpAlertOptions = {}, signal?: AbortSignal): Promise<FireResult> {
  const url = new URL('/api/v1/webhooks/splunk', server);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-riposte-token': token },
    body: JSON.stringify(splunkIpAlert(options)),
    ...(signal ? { signal } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (a proxy's error page): keep the text for the message.
  }
  return { status: response.status, body };
}
