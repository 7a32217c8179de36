import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Runtime } from '../../app/index.ts';
import type { Config } from '../../core/index.ts';
import { INTEGRATIONS } from '../../integrations/catalog.ts';
import { createIntegrationInstance, type IntegrationInstance } from '../../integrations/sdk/index.ts';
import {
  createFleet,
  EdrBehaviour,
  type Fleet,
  fleetDmHandler,
  GRAPH_SCOPE,
  GraphMailTenant,
  graphMailHandler,
  identityPlatformHandler,
  LAB_ACCOUNTS,
  type Lab,
  SIMULATOR_API_KEY,
  SIMULATOR_CLIENT_ID,
  SIMULATOR_CLIENT_SECRET,
  SIMULATOR_FLEET_API_TOKEN,
  SIMULATOR_TENANT_ID,
  startSimulator,
  TokenIssuer,
  type VendorSimulator,
} from '../../lab/index.ts';

/**
 * The simulated enterprise `riposte demo` runs against: a CMDB with ordinary and critical assets, a
 * partner's address range on the allow-list, the vendor simulators wired as integration instances for
 * this process only (never stored), and two sign-in accounts for the UI with fresh one-time passwords.
 */
export const DEMO_ASSETS = {
  web: { ip: '10.20.30.40', name: 'web-01', hostname: 'web-01.corp.example', owner: 'Web team', criticality: 'medium', environment: 'production' },
  critical: { ip: '10.20.1.10', name: 'dc-01', hostname: 'dc-01.corp.example', owner: 'Identity team', criticality: 'critical', environment: 'production' },
  laptop: { ip: '10.20.40.15', name: 'lt-0415', hostname: 'lt-0415.corp.example', owner: 'Finance', criticality: 'low', environment: 'corporate' },
  app: { ip: '10.20.30.52', name: 'fin-app-02', hostname: 'fin-app-02.corp.example', owner: 'Finance IT', criticality: 'high', environment: 'production' },
} as const;

export const DEMO_PARTNER = { cidr: '195.12.50.0/24', name: 'Northwind Traders' };

/** The simulated organisation's mail domain and the brands its users are phished with. */
export function demoPhishing(phishing: Config['phishing']): Config['phishing'] {
  return {
    ...phishing,
    own_domains: [...phishing.own_domains, 'examplecorp.com'],
    protected_domains: [...phishing.protected_domains, 'microsoft.com', 'paypal.com', 'docusign.net'],
    organisation_names: [...phishing.organisation_names, 'Example Corp'],
  };
}

/** The playbooks shipped with Riposte, used when the configured folder lacks the flagship ones. */
const BUNDLED_PLAYBOOKS = resolve(import.meta.dirname, '../../../playbooks');

export function demoConfig(config: Config, webhookToken: string): Config {
  const allowLists = (config.policy.allow_lists ?? {}) as Record<string, unknown>;
  const playbooks = existsSync(join(config.engine.playbooks_dir, 'ip-enrichment.yml')) ? config.engine.playbooks_dir : BUNDLED_PLAYBOOKS;
  return {
    ...config,
    phishing: demoPhishing(config.phishing),
    // The terminal shows the scenarios' progress; routine info logs would drown it (RIPOSTE_LOG_LEVEL still wins).
    log: { ...config.log, level: process.env.RIPOSTE_LOG_LEVEL ? config.log.level : 'warn' },
    engine: { ...config.engine, playbooks_dir: playbooks },
    // The demo always uses the embedded store, whatever RIPOSTE_DATABASE_URL says: it must work anywhere.
    database_url: undefined,
    integrations: { ...config.integrations, http_allow: [...config.integrations.http_allow, '127.0.0.1'] },
    webhooks: { ...config.webhooks, splunk: { ...config.webhooks.splunk, tokens: [...config.webhooks.splunk.tokens, webhookToken] } },
    intel: { ...config.intel, partners: [...config.intel.partners, { value: DEMO_PARTNER.cidr, label: `${DEMO_PARTNER.name} VPN (demo partner)` }] },
    policy: {
      ...config.policy,
      allow_lists: {
        ...allowLists,
        partners: [...((allowLists.partners as unknown[] | undefined) ?? []), { name: DEMO_PARTNER.name, cidrs: [DEMO_PARTNER.cidr] }],
      },
    },
  };
}

/**
 * The endpoint fleet the hunt scenario sweeps: 200 Windows hosts (servers and workstations, a few offline)
 * behind a Fleet/osquery server, a handful carrying a Run-key implant — one of them a critical server.
 */
export interface DemoFleet {
  fleet: Fleet;
  simulator: VendorSimulator;
  /** How the endpoints answer (offline timeout, remediation failure rate). */
  behaviour: EdrBehaviour;
}

export async function startDemoFleet(latencyMs: number): Promise<DemoFleet> {
  const fleet = createFleet({ size: 200, seed: 1547, infected: 6, infectCriticalServer: true });
  const behaviour = new EdrBehaviour({ seed: 1547, offlineTimeoutMs: 3000 });
  const simulator = await startSimulator(fleetDmHandler(fleet, behaviour), { latencyMs });
  return { fleet, simulator, behaviour };
}

/**
 * The mail side of the enterprise: an SMTP server that receives what Riposte sends reporters, and a
 * Microsoft 365 tenant (Graph simulator) whose six mailboxes hold copies of the campaign the reporters saw.
 * The SMTP server comes from the dev dependency `smtp-server`, loaded only here.
 */
export interface DemoMail {
  smtp: { port: number; messages: Array<{ to: string[]; subject: string }>; close(): Promise<void> };
  tenant: GraphMailTenant;
  login: VendorSimulator;
  graph: VendorSimulator;
  campaignMessageId: string;
  close(): Promise<void>;
}

export async function startDemoMail(campaign: Buffer): Promise<DemoMail> {
  const { startSmtpSink } = await import('../../lab/smtp-sink.ts');
  const smtp = await startSmtpSink();
  const issuer = new TokenIssuer();
  const login = await startSimulator(identityPlatformHandler(issuer, [GRAPH_SCOPE]));
  const tenant = new GraphMailTenant();
  let graphUrl = '';
  const graph = await startSimulator(graphMailHandler(tenant, issuer, { baseUrl: () => graphUrl }));
  graphUrl = graph.url;
  for (const user of ['ann.lee', 'raj.patel', 'cfo', 'payroll', 'it-helpdesk', 'sales-lead'])
    tenant.deliver(`${user}@examplecorp.com`, campaign.toString('latin1'));
  tenant.addMailbox('phish-report@examplecorp.com');
  const campaignMessageId = /^message-id:\s*(<[^>]+>)/im.exec(campaign.toString('latin1'))?.[1] ?? '';
  return {
    smtp,
    tenant,
    login,
    graph,
    campaignMessageId,
    close: async () => {
      await smtp.close();
      await login.close();
      await graph.close();
    },
  };
}

/** Writes the demo CMDB (a CSV the `cmdb` connector reads: the named assets and every fleet endpoint) and returns its path. */
export function writeDemoCmdb(dataDir: string, fleet?: Fleet): string {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'demo-assets.csv');
  const rows = Object.values(DEMO_ASSETS).map((a) => [a.ip, a.hostname, a.name, a.owner, a.criticality, a.environment].join(','));
  for (const e of fleet?.endpoints ?? [])
    rows.push([e.ip, e.hostname, e.hostname, e.role === 'server' ? 'Infrastructure' : 'Workplace', e.criticality, 'production'].join(','));
  writeFileSync(file, `ip,hostname,name,owner,criticality,environment\n${rows.join('\n')}\n`);
  return file;
}

/** Every product with a simulator in the lab, plus the CMDB file, as instances named after the product. */
export function labInstances(lab: Lab, cmdbFile: string, fleet?: DemoFleet, mail?: DemoMail): IntegrationInstance[] {
  const instances: IntegrationInstance[] = [];
  const email = INTEGRATIONS.find((i) => i.id === 'email');
  const graphMail = INTEGRATIONS.find((i) => i.id === 'msgraph_mail');
  if (mail && email && graphMail) {
    instances.push(
      createIntegrationInstance(
        email,
        { name: 'email', config: { host: '127.0.0.1', port: mail.smtp.port, security: 'none', from: 'soc@examplecorp.com' }, secrets: { password: '-' } },
        { guard: { allow: ['127.0.0.1'] } },
      ),
      createIntegrationInstance(
        graphMail,
        {
          name: 'msgraph_mail',
          config: { baseUrl: mail.graph.url, loginUrl: mail.login.url, tenantId: SIMULATOR_TENANT_ID, clientId: SIMULATOR_CLIENT_ID },
          secrets: { clientSecret: SIMULATOR_CLIENT_SECRET },
        },
        { guard: { allow: ['127.0.0.1'] } },
      ),
    );
  }
  const fleetdm = INTEGRATIONS.find((i) => i.id === 'fleetdm');
  if (fleet && fleetdm) {
    instances.push(
      createIntegrationInstance(
        fleetdm,
        {
          name: 'fleet',
          config: { baseUrl: fleet.simulator.url, pollIntervalMs: 20, scriptTimeoutMs: 5000 },
          secrets: { apiToken: SIMULATOR_FLEET_API_TOKEN },
        },
        { guard: { allow: ['127.0.0.1'] } },
      ),
    );
  }
  for (const [name, sim] of Object.entries(lab.simulators)) {
    // The two lab MISP servers are two instances (misp_a, misp_b) of the one MISP product.
    const product = name.startsWith('misp_') ? 'misp' : name;
    const integration = INTEGRATIONS.find((i) => i.id === product);
    if (!integration) continue;
    const extra = product === 'servicenow_cmdb' ? { username: 'riposte' } : {};
    instances.push(
      createIntegrationInstance(
        integration,
        {
          name,
          config: { baseUrl: sim.url, ...extra, ...LAB_ACCOUNTS[name] },
          secrets: Object.fromEntries(Object.keys(integration.secrets).map((secret) => [secret, SIMULATOR_API_KEY])),
        },
        { guard: { allow: ['127.0.0.1'] } },
      ),
    );
  }
  const cmdb = INTEGRATIONS.find((i) => i.id === 'cmdb');
  if (cmdb) instances.push(createIntegrationInstance(cmdb, { name: 'cmdb', config: { file: cmdbFile }, secrets: {} }));
  return instances;
}

export interface DemoAccount {
  name: string;
  password: string;
  roles: string[];
}

/**
 * Two people for the UI, so a two-person approval can be shown: an analyst/responder and an approver.
 * Each demo run gives them fresh one-time passwords (re-running the demo never locks anyone out).
 */
export async function demoAccounts(runtime: Runtime): Promise<DemoAccount[]> {
  const accounts: DemoAccount[] = [
    { name: 'analyst', password: randomBytes(9).toString('base64url'), roles: ['analyst', 'responder'] },
    { name: 'approver', password: randomBytes(9).toString('base64url'), roles: ['approver', 'viewer'] },
  ];
  for (const account of accounts) {
    const exists = await runtime.auth.getUser(account.name).then(
      () => true,
      () => false,
    );
    if (exists) await runtime.auth.updateUser(account.name, { roles: account.roles, password: account.password, unlock: true, disabled: false });
    else await runtime.auth.createUser({ name: account.name, roles: account.roles, password: account.password });
  }
  return accounts;
}
