import { panOsHandler } from './firewall-simulators.ts';
import type { VendorHandler } from './simulator-server.ts';
import { jiraHandler, serviceNowIncidentHandler } from './ticketing-simulators.ts';

/** Fresh (stateful) simulators of the response side: ticketing and the firewall. One set per lab. */
export function responseHandlers(): VendorHandler[] {
  return [jiraHandler(), serviceNowIncidentHandler(), panOsHandler()];
}
