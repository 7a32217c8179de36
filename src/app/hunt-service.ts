import { type HuntDefinition, huntFromRegistryIoc, huntFromSigma, huntFromStixIndicator } from '../analyzers/index.ts';
import type { CasesService } from '../cases/index.ts';
import { type Actor, invalidInput, type Logger, RiposteError } from '../core/index.ts';
import type { IntegrationInstance } from '../integrations/sdk/index.ts';
import type { Store } from '../store/index.ts';
import type { Criticality, HuntRunView, RemediationOptions, WaveView } from './hunt-runs.ts';
import { HuntRuns } from './hunt-runs.ts';

/**
 * Hunts as the API and CLI start them: a definition from a Sigma rule, a STIX indicator or a registry IOC,
 * run through a configured EDR instance (by name, or the first defender/fleetdm instance), with asset
 * criticality from the CMDB that policy uses. Remediation is started separately, after someone has looked
 * at the sightings (or a dry-run plan).
 */
export interface HuntRequest {
  sigma?: string;
  stix?: unknown;
  ioc?: { key_path: string; value_name?: string; data?: string };
  attack?: string[];
  title?: string;
  edr?: string;
  dry_run?: boolean;
  expires_in_ms?: number;
}

export interface HuntServiceOptions {
  cases: CasesService;
  logger: Logger;
  instances(): Promise<readonly IntegrationInstance[]>;
  criticality?(hostname: string): Promise<Criticality | undefined>;
  /** Makes hunt runs durable and resumable (without it they live in memory). */
  store?: Store;
  /** Tuning of the run leases (tests). */
  runs?: { leaseMs?: number; approvalPollMs?: number; owner?: string };
}

export function huntDefinitionFrom(request: HuntRequest): HuntDefinition {
  const given = [request.sigma, request.stix, request.ioc].filter((x) => x !== undefined).length;
  if (given !== 1) throw invalidInput('give exactly one of sigma, stix or ioc', { field: 'sigma' });
  const options = { ...(request.attack ? { attack: request.attack } : {}), ...(request.title ? { title: request.title } : {}) };
  if (request.sigma !== undefined) return huntFromSigma(request.sigma, options);
  if (request.stix !== undefined) return huntFromStixIndicator(request.stix, options);
  const ioc = request.ioc as NonNullable<HuntRequest['ioc']>;
  return huntFromRegistryIoc(
    { keyPath: ioc.key_path, ...(ioc.value_name ? { valueName: ioc.value_name } : {}), ...(ioc.data ? { data: ioc.data } : {}) },
    options,
  );
}

const HUNTING_EDRS = new Set(['defender', 'fleetdm', 'crowdstrike']);
/** Where each remediation wave's change ticket goes: the first instance of one of these. */
const TICKETING = new Set(['jira', 'servicenow_incident']);

export class HuntService {
  readonly runs: HuntRuns;
  private readonly options: HuntServiceOptions;

  constructor(options: HuntServiceOptions) {
    this.options = options;
    this.runs = new HuntRuns({
      cases: options.cases,
      logger: options.logger,
      ...(options.criticality ? { criticality: options.criticality } : {}),
      ...(options.store ? { store: options.store } : {}),
      ...options.runs,
      instance: async (name) => (await options.instances()).find((i) => i.name === name),
      definitionFrom: (request) => huntDefinitionFrom(request as HuntRequest),
      ticketing: async () => (await options.instances()).find((i) => TICKETING.has(i.integration.id)),
    });
  }

  private async instance(name: string | undefined): Promise<IntegrationInstance> {
    const all = await this.options.instances();
    const found = name
      ? all.find((i) => i.name === name || i.integration.id === name)
      : all.find((i) => HUNTING_EDRS.has(i.integration.id) && i.config.tenantId !== '');
    if (!found)
      throw new RiposteError(
        'hunt.no_edr',
        name
          ? `no integration instance named ${JSON.stringify(name)}`
          : 'no EDR instance configured for hunts (add a defender, fleetdm or crowdstrike instance)',
        { status: 422 },
      );
    return found;
  }

  async start(request: HuntRequest, actor: Actor): Promise<HuntRunView> {
    const definition = huntDefinitionFrom(request);
    const edr = await this.instance(request.edr);
    const { view, done } = this.runs.start(definition, {
      edr,
      actor,
      request,
      ...(request.dry_run ? { dryRun: true } : {}),
      ...(request.expires_in_ms !== undefined ? { expiresInMs: request.expires_in_ms } : {}),
    });
    done.then(
      (v) => this.options.logger.info({ hunt: v.id, status: v.status, hosts: v.progress.hosts_hit }, 'hunt finished'),
      () => {},
    );
    return view;
  }

  /** Runs a hunt to its end (the CLI), reporting progress as hosts answer. */
  async run(request: HuntRequest, actor: Actor, onProgress?: (view: HuntRunView) => void): Promise<HuntRunView> {
    const definition = huntDefinitionFrom(request);
    const edr = await this.instance(request.edr);
    return this.runs.run(definition, {
      edr,
      actor,
      request,
      ...(request.dry_run ? { dryRun: true } : {}),
      ...(request.expires_in_ms !== undefined ? { expiresInMs: request.expires_in_ms } : {}),
      ...(onProgress ? { onProgress } : {}),
    });
  }

  plan(id: string, options: RemediationOptions = {}): Promise<WaveView[]> {
    return this.runs.plan(id, options);
  }

  /** Starts remediation in the background; progress is on the hunt view and the case. */
  async remediate(id: string, actor: Actor, options: RemediationOptions = {}): Promise<HuntRunView> {
    const view = await this.runs.load(id);
    if (view.remediation.status !== 'not_started')
      throw new RiposteError('hunt.remediation_started', `hunt ${id} remediation is ${view.remediation.status}`, { status: 409 });
    this.runs.remediate(id, { ...options, actor }).catch((error) => this.options.logger.error({ hunt: id, error: String(error) }, 'hunt remediation failed'));
    return this.runs.load(id);
  }
}
