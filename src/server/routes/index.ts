import type { FastifyInstance } from 'fastify';
import type { ServerMetrics } from '../metrics.ts';
import type { ServerServices } from '../services.ts';
import { actionRoutes } from './actions.ts';
import { aiRoutes } from './ai.ts';
import { alertRoutes } from './alerts.ts';
import { approvalDeliveryRoutes } from './approval-deliveries.ts';
import { approvalRoutes } from './approvals.ts';
import { auditRoutes } from './audit.ts';
import { authRoutes } from './auth.ts';
import { caseRoutes } from './cases.ts';
import { edlRoutes } from './edl.ts';
import { healthRoutes } from './health.ts';
import { huntRoutes } from './hunts.ts';
import { integrationRoutes } from './integrations.ts';
import { intelRoutes } from './intel.ts';
import { observableRoutes } from './observables.ts';
import { phishingRoutes } from './phishing.ts';
import { playbookEditorRoutes } from './playbook-editor.ts';
import { runGraphRoutes } from './run-graph.ts';
import { eventRoutes, runsRoutes } from './runs.ts';
import { streamRoutes } from './stream.ts';
import { TAXII_PREFIX, taxiiRoutes } from './taxii.ts';
import { tokenRoutes } from './tokens.ts';
import { userRoutes } from './users.ts';

/** Every route plugin, registered in one place so the route inventory sees them all. */
export async function registerRoutes(app: FastifyInstance, services: ServerServices, metrics: ServerMetrics): Promise<void> {
  await app.register(healthRoutes, { services, metrics });
  const { cases } = services;
  if (cases) {
    const withCases = { services: { ...services, cases } };
    await app.register(alertRoutes, withCases);
    await app.register(caseRoutes, withCases);
    await app.register(observableRoutes, withCases);
    await app.register(auditRoutes, withCases);
  }
  await app.register(authRoutes, { services });
  await app.register(userRoutes, { services });
  await app.register(tokenRoutes, { services });
  if (services.engine && services.playbooks)
    await app.register(runsRoutes, { engine: services.engine, playbooks: services.playbooks, approvals: services.approvals });
  if (services.engine || services.approvals) await app.register(approvalRoutes, { engine: services.engine, approvals: services.approvals });
  if (services.engine) await app.register(eventRoutes, { engine: services.engine });
  if (services.integrations) await app.register(integrationRoutes, { integrations: services.integrations });
  if (services.approvals) await app.register(actionRoutes, { containment: services.approvals.containment });
  if (services.intel) await app.register(intelRoutes, { intel: services.intel });
  if (services.taxii) await app.register(taxiiRoutes, { prefix: TAXII_PREFIX, services: { ...services, taxii: services.taxii } });
  if (services.engine) await app.register(runGraphRoutes, { store: services.store });
  if (services.approvals) await app.register(approvalDeliveryRoutes, { store: services.store });
  if (services.live) await app.register(streamRoutes, { live: services.live });
  if (services.playbooks && services.validatePlaybook)
    await app.register(playbookEditorRoutes, { playbooks: services.playbooks, validate: services.validatePlaybook });
  if (services.edl) await app.register(edlRoutes, { edl: services.edl });
  if (services.hunts) await app.register(huntRoutes, { hunts: services.hunts });
  if (services.phishing) await app.register(phishingRoutes, { phishing: services.phishing });
  if (services.ai) await app.register(aiRoutes, { ai: services.ai, metrics });
}
