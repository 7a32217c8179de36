import abuseipdb from './abuseipdb/index.ts';
import cmdb from './cmdb/index.ts';
import greynoise from './greynoise/index.ts';
import ipinfo from './ipinfo/index.ts';
import jira from './jira/index.ts';
import otx from './otx/index.ts';
import paloAlto from './palo_alto/index.ts';
import type { IntegrationDefinition } from './sdk/index.ts';
import servicenowIncident from './servicenow_incident/index.ts';
import shodan from './shodan/index.ts';
import virustotal from './virustotal/index.ts';

/**
 * The registry that lists every product Riposte ships a connector for; the only importer of vendor folders
 * (vendors are leaves). `app/` and the CLI look integrations up here by id.
 */
export const INTEGRATIONS: readonly IntegrationDefinition[] = [virustotal, abuseipdb, greynoise, otx, shodan, ipinfo, cmdb, jira, servicenowIncident, paloAlto];

export function integrationById(id: string): IntegrationDefinition | undefined {
  return INTEGRATIONS.find((integration) => integration.id === id);
}
