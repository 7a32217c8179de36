/**
 * ServiceNow incidents through the Table API: create (`POST /api/now/table/incident`) and update
 * (`PATCH /api/now/table/incident/{sys_id}`, e.g. a work note or a state change). Basic auth with an
 * integration user. Answers are `{"result": {...}}`; errors are
 * `{"error": {"message", "detail"}, "status": "failure"}`. `sysparm_display_value=false` keeps codes
 * (state 1–8, urgency 1–3) rather than labels, so outputs do not depend on the instance's language.
 */
import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import { action, defineIntegration, type VendorResponse } from '../sdk/index.ts';

const SYS_ID = /^[0-9a-f]{32}$/;
const Level = z.union([z.literal(1), z.literal(2), z.literal(3)]);

const Incident = z.object({
  result: z
    .object({
      sys_id: z.string().regex(SYS_ID),
      number: z.string(),
      state: z.union([z.string(), z.number()]).optional(),
      short_description: z.string().optional(),
      urgency: z.union([z.string(), z.number()]).optional(),
      impact: z.union([z.string(), z.number()]).optional(),
    })
    .loose(),
});

function auth(config: Readonly<Record<string, unknown>>, secrets: Readonly<Record<string, string>>): Record<string, string> {
  const user = config.username;
  if (typeof user !== 'string' || user === '')
    throw new RiposteError('integration.not_configured', 'servicenow_incident: set the integration user (--set username=riposte.integration)', {
      details: { field: 'username' },
    });
  return { authorization: `Basic ${Buffer.from(`${user}:${secrets.password}`).toString('base64')}` };
}

function rejected(response: VendorResponse, what: string): RiposteError {
  let detail = '';
  try {
    const body = JSON.parse(response.text()) as { error?: { message?: unknown; detail?: unknown } };
    detail = [body.error?.message, body.error?.detail].filter((p): p is string => typeof p === 'string' && p !== '').join(': ');
  } catch {
    detail = response.text().slice(0, 200);
  }
  return new RiposteError('integration.rejected', `ServiceNow refused to ${what} (HTTP ${response.status}): ${detail || 'no reason given'}`, {
    status: 502,
    details: { vendor: 'servicenow_incident', http_status: response.status },
  });
}

function incidentOut(body: unknown, baseUrl: string, what: string) {
  const parsed = Incident.safeParse(body);
  if (!parsed.success)
    throw new RiposteError('integration.bad_response', `ServiceNow answered ${what} without result.sys_id and result.number`, { status: 502 });
  const r = parsed.data.result;
  return {
    sys_id: r.sys_id,
    number: r.number,
    state: r.state === undefined ? null : String(r.state),
    url: new URL(`nav_to.do?uri=incident.do?sys_id=${r.sys_id}`, baseUrl).toString(),
  };
}

const Output = z.object({ sys_id: z.string(), number: z.string(), state: z.string().nullable(), url: z.string() });

export default defineIntegration({
  id: 'servicenow_incident',
  title: 'ServiceNow incidents',
  description: 'Incident records through the ServiceNow Table API.',
  config: z.object({
    baseUrl: z.url().default('https://your-instance.service-now.com'),
    username: z.string().min(1).optional(),
    /** Assignment group sys_id or name for new incidents (optional). */
    assignmentGroup: z.string().min(1).optional(),
    category: z.string().min(1).default('security'),
    timeoutMs: z.number().int().positive().optional(),
  }),
  secrets: { password: 'Password of the integration user in config.username' },
  rateLimit: { perMinute: 120, burst: 10 },
  actions: {
    create_incident: action({
      title: 'Create an incident',
      impact: 'write',
      input: z
        .object({
          short_description: z.string().trim().min(1).max(160),
          description: z.string().max(32_000).default(''),
          urgency: Level.default(2),
          impact: Level.default(2),
          work_notes: z.string().max(32_000).optional(),
          category: z.string().min(1).optional(),
        })
        .strict(),
      output: Output,
      async run({ input, http, secrets, config, signal, idempotencyKey }) {
        const response = await http.request({
          method: 'POST',
          path: '/api/now/table/incident',
          query: { sysparm_display_value: 'false', sysparm_fields: 'sys_id,number,state,short_description,urgency,impact' },
          headers: auth(config, secrets),
          json: {
            short_description: input.short_description,
            description: input.description,
            urgency: String(input.urgency),
            impact: String(input.impact),
            category: input.category ?? config.category,
            ...(config.assignmentGroup ? { assignment_group: config.assignmentGroup } : {}),
            ...(input.work_notes ? { work_notes: input.work_notes } : {}),
            // Lets an operator find the record a retried step created (ServiceNow has no idempotency header).
            correlation_id: idempotencyKey.slice(0, 100),
            correlation_display: 'Riposte',
          },
          accept: [400],
          signal,
        });
        if (response.status === 400) throw rejected(response, 'create the incident');
        return incidentOut(response.json(), http.baseUrl, 'create incident');
      },
    }),
    update_incident: action({
      title: 'Update an incident (work note, state, urgency)',
      impact: 'write',
      input: z
        .object({
          sys_id: z.string().regex(SYS_ID, 'must be a 32-character sys_id'),
          work_notes: z.string().max(32_000).optional(),
          comments: z.string().max(32_000).optional(),
          /** Incident state code: 1 New, 2 In Progress, 3 On Hold, 6 Resolved, 7 Closed, 8 Canceled. */
          state: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(6), z.literal(7), z.literal(8)]).optional(),
          urgency: Level.optional(),
          close_code: z.string().optional(),
          close_notes: z.string().optional(),
        })
        .strict()
        .refine((v) => Object.keys(v).length > 1, { message: 'name at least one field to change' }),
      output: Output,
      async run({ input, http, secrets, config, signal }) {
        const { sys_id, ...changes } = input;
        const body = Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, typeof v === 'number' ? String(v) : v]));
        const response = await http.request({
          method: 'PATCH',
          path: `/api/now/table/incident/${sys_id}`,
          query: { sysparm_display_value: 'false', sysparm_fields: 'sys_id,number,state,short_description,urgency,impact' },
          headers: auth(config, secrets),
          json: body,
          accept: [400],
          signal,
        });
        if (response.status === 400) throw rejected(response, `update incident ${sys_id}`);
        return incidentOut(response.json(), http.baseUrl, 'update incident');
      },
    }),
  },
});
