/**
 * lab: loopback simulators of the vendor APIs Riposte integrates with, answering with the vendors'
 * documented paths, auth headers, shapes, error bodies and 429s, over one deterministic seeded world.
 * Tests, benchmarks and `riposte lab start` / `riposte demo` use them; production code never imports lab.
 */

import { responseHandlers } from './response-handlers.ts';
import { type SimulatorOptions, startSimulator, type VendorSimulator } from './simulator-server.ts';
import { THREAT_INTEL_HANDLERS } from './threat-intel-simulators.ts';

export { PAN_OS_USER, type PanAddress, type PanOsSimulatorHandler, panOsHandler } from './firewall-simulators.ts';
export { LAB_ACCOUNTS, responseHandlers } from './response-handlers.ts';
export { type IpProfile, SEED_DOMAINS, SEED_FILES, SEED_IPS, SEED_URLS, type SeedIp, SIMULATOR_API_KEY, seedFor, UNKNOWN_IP } from './seed-data.ts';
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
  for (const handler of [...THREAT_INTEL_HANDLERS, ...responseHandlers()])
    simulators[handler.vendor] = await startSimulator(handler, { ...options, port: undefined });
  return {
    simulators,
    close: async () => {
      await Promise.all(Object.values(simulators).map((sim) => sim.close()));
    },
  };
}
