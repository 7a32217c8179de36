/**
 * lab: loopback simulators of the vendor APIs Riposte integrates with, answering with the vendors'
 * documented paths, auth headers, shapes, error bodies and 429s, over one deterministic seeded world.
 * Tests, benchmarks and `riposte lab start` / `riposte demo` use them; production code never imports lab.
 */

import { INTERNAL_HANDLERS } from './internal-simulators.ts';
import { type SimulatorOptions, startSimulator, type VendorSimulator } from './simulator-server.ts';
import { THREAT_INTEL_HANDLERS } from './threat-intel-simulators.ts';

export {
  type PagerDutyEvent,
  type PagerDutySimulator,
  SIMULATOR_PAGERDUTY_ROUTING_KEY,
  SIMULATOR_SLACK_BOT_TOKEN,
  SIMULATOR_SLACK_SIGNING_SECRET,
  type SlackClick,
  type SlackPostedMessage,
  type SlackSimulator,
  startPagerDutySimulator,
  startSlackSimulator,
  startTeamsSimulator,
  type TeamsReceivedCard,
  type TeamsSimulator,
} from './chat-simulators.ts';
export {
  crowdStrikeHandler,
  type FalconSimulatorOptions,
  falconAid,
  SIMULATOR_FALCON_CLIENT_ID,
  SIMULATOR_FALCON_CLIENT_SECRET,
} from './crowdstrike-simulator.ts';
export {
  defenderHandler,
  identityPlatformHandler,
  SIMULATOR_CLIENT_ID,
  SIMULATOR_CLIENT_SECRET,
  SIMULATOR_TENANT_ID,
  TokenIssuer,
} from './defender-simulator.ts';
export { EdrBehaviour, type EdrBehaviourOptions } from './edr-behaviour.ts';
export {
  type Criticality,
  createFleet,
  DEFAULT_IMPLANT,
  Fleet,
  type FleetEndpoint,
  type FleetImplant,
  type FleetOptions,
  type FleetUser,
  HKLM_RUN,
  type RegistryValue,
  RUN_KEY,
  seededRandom,
} from './fleet.ts';
export { fleetDmHandler, SIMULATOR_FLEET_API_TOKEN } from './fleetdm-simulator.ts';
export { GRAPH_SCOPE, GraphMailTenant, graphMailHandler, type SimMailbox, type SimMessage } from './graph-mail-simulator.ts';
export { elasticHandler, INTERNAL_HANDLERS, mispHandler, serviceNowCmdbHandler, splunkHandler } from './internal-simulators.ts';
export { KqlError, type KqlRow, type KqlValue, runKql } from './kql-subset.ts';
export {
  type LlmCompletionSeen,
  type LlmSimulator,
  type LlmSimulatorOptions,
  SIMULATOR_LLM_API_KEY,
  SIMULATOR_LLM_MODEL,
  startLlmSimulator,
} from './llm-simulator.ts';
export {
  type IpProfile,
  SEED_ASSETS,
  SEED_DOMAINS,
  SEED_FILES,
  SEED_INTERNAL_SIGHTINGS,
  SEED_IPS,
  SEED_MISP,
  SEED_NOW_MS,
  SEED_URLS,
  type SeedAsset,
  type SeedIp,
  type SeedLogEvent,
  SIMULATOR_API_KEY,
  seedFor,
  seedLogEvents,
  UNKNOWN_IP,
} from './seed-data.ts';

import { responseHandlers } from './response-handlers.ts';

export { PAN_OS_USER, type PanAddress, type PanOsSimulatorHandler, panOsHandler } from './firewall-simulators.ts';
export { LAB_ACCOUNTS, responseHandlers } from './response-handlers.ts';
export { DEFAULT_ALERT_IP, type FireResult, fireIpAlert, type IpAlertOptions, splunkIpAlert } from './siem-alerts.ts';
export {
  type Fault,
  type SimAnswer,
  type SimRequest,
  type SimulatorOptions,
  startSimulator,
  type VendorHandler,
  type VendorSimulator,
} from './simulator-server.ts';
export {
  abuseIpdbHandler,
  greyNoiseHandler,
  ipinfoHandler,
  otxHandler,
  shodanHandler,
  THREAT_INTEL_HANDLERS,
  virusTotalHandler,
} from './threat-intel-simulators.ts';
export {
  type JiraIssue,
  type JiraSimulatorHandler,
  jiraHandler,
  type ServiceNowSimulatorHandler,
  serviceNowIncidentHandler,
} from './ticketing-simulators.ts';

export interface Lab {
  simulators: Record<string, VendorSimulator>;
  close(): Promise<void>;
}

/** Starts every simulator on its own loopback port. */
export async function startLab(options: SimulatorOptions = {}): Promise<Lab> {
  const simulators: Record<string, VendorSimulator> = {};
  for (const handler of [...THREAT_INTEL_HANDLERS, ...INTERNAL_HANDLERS, ...responseHandlers()])
    simulators[handler.vendor] = await startSimulator(handler, { ...options, port: undefined });
  return {
    simulators,
    close: async () => {
      await Promise.all(Object.values(simulators).map((sim) => sim.close()));
    },
  };
}
