import abuseipdb from './abuseipdb/index.ts';
import cmdb from './cmdb/index.ts';
import crowdstrike from './crowdstrike/index.ts';
import defender from './defender/index.ts';
import elastic from './elastic/index.ts';
import email from './email/index.ts';
import fleetdm from './fleetdm/index.ts';
import greynoise from './greynoise/index.ts';
import ipinfo from './ipinfo/index.ts';
import jira from './jira/index.ts';
import llm from './llm/index.ts';
import misp from './misp/index.ts';
import msgraphMail from './msgraph_mail/index.ts';
import otx from './otx/index.ts';
import paloAlto from './palo_alto/index.ts';
import type { IntegrationDefinition } from './sdk/index.ts';
import servicenowCmdb from './servicenow_cmdb/index.ts';
import servicenowIncident from './servicenow_incident/index.ts';
import shodan from './shodan/index.ts';
import splunk from './splunk/index.ts';
import virustotal from './virustotal/index.ts';

/**
 * The registry that lists every product Riposte ships a connector for; the only importer of vendor folders
 * (vendors are leaves). `app/` and the CLI look integrations up here by id.
 */
export const INTEGRATIONS: readonly IntegrationDefinition[] = [
  virustotal,
  abuseipdb,
  greynoise,
  otx,
  shodan,
  ipinfo,
  cmdb,
  // issue #5: intel sharing, internal sightings, CMDB over REST
  misp,
  splunk,
  elastic,
  servicenowCmdb,
  // issue #8: EDR hunting
  defender,
  crowdstrike,
  fleetdm,
  // issue #6: approval channels (and #7's reporter mail)
  email,
  // issue #5: tickets and firewall blocks
  jira,
  servicenowIncident,
  paloAlto,
  // issue #7: reporting mailbox and campaign purge
  msgraphMail,
  // issue #14: AI assistance through any OpenAI-compatible endpoint
  llm,
];

export function integrationById(id: string): IntegrationDefinition | undefined {
  return INTEGRATIONS.find((integration) => integration.id === id);
}
