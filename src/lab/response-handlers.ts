import { PAN_OS_USER, panOsHandler } from './firewall-simulators.ts';
import type { VendorHandler } from './simulator-server.ts';
import { jiraHandler, serviceNowIncidentHandler } from './ticketing-simulators.ts';

/** Fresh (stateful) simulators of the response side: ticketing and the firewall. One set per lab. */
export function responseHandlers(): VendorHandler[] {
  return [jiraHandler(), serviceNowIncidentHandler(), panOsHandler()];
}

/** Account names the simulators expect beside the lab key (Basic-auth users, the PAN-OS API user), as instance config. */
export const LAB_ACCOUNTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  jira: { email: 'soc@riposte.lab' },
  servicenow_incident: { username: 'riposte.integration' },
  palo_alto: { username: PAN_OS_USER },
};
