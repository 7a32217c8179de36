/**
 * Jira Cloud REST API v3: create an issue (`POST /rest/api/3/issue`, description in Atlassian Document
 * Format), read one (`GET /rest/api/3/issue/{key}`) and comment on one
 * (`POST /rest/api/3/issue/{key}/comment`). Basic auth with the account's e-mail and an API token.
 * Jira's error body is `{"errorMessages": [...], "errors": {field: message}}`; a rejected create names
 * the fields Jira objected to.
 */
import { z } from 'zod';
import { RiposteError } from '../../core/index.ts';
import { action, defineIntegration, type IntegrationHttp, type VendorResponse } from '../sdk/index.ts';

const ISSUE_KEY = /^[A-Z][A-Z0-9_]{0,31}-[1-9][0-9]{0,9}$/;
const IssueKey = z.string().trim().regex(ISSUE_KEY, 'must be an issue key such as SEC-123');

/** Plain text → an ADF document: one paragraph per blank-line-separated block, hard breaks inside. */
export function adfFromText(text: string): Record<string, unknown> {
  const paragraphs = text
    .replace(/\r\n?/g, '\n')
    .split(/\n{2,}/)
    .filter((p) => p.trim() !== '');
  return {
    type: 'doc',
    version: 1,
    content: paragraphs.map((p) => ({
      type: 'paragraph',
      content: p.split('\n').flatMap((line, i) => [...(i > 0 ? [{ type: 'hardBreak' }] : []), ...(line === '' ? [] : [{ type: 'text', text: line }])]),
    })),
  };
}

/** ADF → plain text (for reading issues back): text nodes, with paragraphs and breaks as newlines. */
export function textFromAdf(node: unknown): string {
  if (node === null || typeof node !== 'object') return '';
  const n = node as { type?: string; text?: string; content?: unknown[] };
  if (n.type === 'text') return n.text ?? '';
  if (n.type === 'hardBreak') return '\n';
  const inner = (n.content ?? []).map(textFromAdf).join('');
  return n.type === 'paragraph' || n.type === 'heading' ? `${inner}\n` : inner;
}

function credentials(config: Readonly<Record<string, unknown>>, secrets: Readonly<Record<string, string>>): Record<string, string> {
  const email = config.email;
  if (typeof email !== 'string' || email === '')
    throw new RiposteError(
      'integration.not_configured',
      'jira: set the account e-mail (riposte integrations add jira --product jira --set email=you@example.com)',
      {
        details: { field: 'email' },
      },
    );
  return { authorization: `Basic ${Buffer.from(`${email}:${secrets.apiToken}`).toString('base64')}` };
}

/** A 400 from Jira names the offending fields; say which instead of echoing the body. */
function rejected(response: VendorResponse, what: string): RiposteError {
  let detail = '';
  try {
    const body = JSON.parse(response.text()) as { errorMessages?: unknown; errors?: unknown };
    const messages = Array.isArray(body.errorMessages) ? body.errorMessages.filter((m): m is string => typeof m === 'string') : [];
    const fields =
      body.errors && typeof body.errors === 'object'
        ? Object.entries(body.errors as Record<string, unknown>).map(([field, message]) => `${field}: ${String(message)}`)
        : [];
    detail = [...messages, ...fields].join('; ');
  } catch {
    detail = response.text().slice(0, 200);
  }
  return new RiposteError('integration.rejected', `Jira refused to ${what} (HTTP ${response.status}): ${detail || 'no reason given'}`, {
    status: 502,
    details: { vendor: 'jira', http_status: response.status },
  });
}

const Created = z.object({ id: z.string(), key: z.string().regex(ISSUE_KEY), self: z.string() });
const Issue = z.object({
  id: z.string(),
  key: z.string(),
  self: z.string(),
  fields: z
    .object({
      summary: z.string().nullable().optional(),
      description: z.unknown().optional(),
      status: z.object({ name: z.string() }).loose().nullable().optional(),
      priority: z.object({ name: z.string() }).loose().nullable().optional(),
      labels: z.array(z.string()).optional(),
      created: z.string().optional(),
      updated: z.string().optional(),
    })
    .loose(),
});
const Comment = z.object({ id: z.string(), self: z.string(), created: z.string().optional() });

function browseUrl(http: IntegrationHttp, key: string): string {
  return new URL(`browse/${key}`, http.baseUrl).toString();
}

const parse = <T>(schema: z.ZodType<T>, body: unknown, what: string): T => {
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new RiposteError('integration.bad_response', `Jira answered ${what} without the expected fields (${parsed.error.issues[0]?.path.join('.')})`, {
      status: 502,
    });
  return parsed.data;
};

export default defineIntegration({
  id: 'jira',
  title: 'Jira Cloud',
  description: 'Tickets in Jira Cloud (REST API v3): create, read, comment.',
  config: z.object({
    baseUrl: z.url().default('https://your-domain.atlassian.net'),
    /** The Atlassian account the API token belongs to (Basic auth user). */
    email: z.string().email().optional(),
    /** Project new tickets go to unless a step names another. */
    project: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]{0,31}$/)
      .default('SEC'),
    issueType: z.string().min(1).default('Task'),
    timeoutMs: z.number().int().positive().optional(),
  }),
  secrets: { apiToken: 'Atlassian API token of the account in config.email' },
  rateLimit: { perMinute: 100, burst: 10 },
  actions: {
    create_ticket: action({
      title: 'Create an issue',
      impact: 'write',
      input: z
        .object({
          summary: z.string().trim().min(1).max(255),
          description: z.string().max(32_000).default(''),
          project: z
            .string()
            .regex(/^[A-Z][A-Z0-9_]{0,31}$/)
            .optional(),
          issue_type: z.string().min(1).optional(),
          labels: z.array(z.string().regex(/^\S+$/, 'labels cannot contain spaces').max(255)).max(20).default([]),
          priority: z.string().min(1).optional(),
        })
        .strict(),
      output: z.object({ id: z.string(), key: z.string(), url: z.string(), self: z.string() }),
      async run({ input, http, secrets, config, signal }) {
        const fields: Record<string, unknown> = {
          project: { key: input.project ?? config.project },
          issuetype: { name: input.issue_type ?? config.issueType },
          summary: input.summary,
          ...(input.description ? { description: adfFromText(input.description) } : {}),
          ...(input.labels.length > 0 ? { labels: input.labels } : {}),
          ...(input.priority ? { priority: { name: input.priority } } : {}),
        };
        const response = await http.request({
          method: 'POST',
          path: '/rest/api/3/issue',
          headers: credentials(config, secrets),
          json: { fields },
          accept: [400],
          signal,
        });
        if (response.status === 400) throw rejected(response, 'create the issue');
        const created = parse(Created, response.json(), 'create issue');
        return { ...created, url: browseUrl(http, created.key) };
      },
    }),
    get_ticket: action({
      title: 'Read an issue',
      impact: 'read',
      input: z.object({ key: IssueKey }).strict(),
      output: z.object({
        key: z.string(),
        id: z.string(),
        url: z.string(),
        summary: z.string().nullable(),
        description: z.string(),
        status: z.string().nullable(),
        priority: z.string().nullable(),
        labels: z.array(z.string()),
      }),
      async run({ input, http, secrets, config, signal }) {
        const body = await http.getJson(`/rest/api/3/issue/${encodeURIComponent(input.key)}`, {
          query: { fields: 'summary,description,status,priority,labels,created,updated' },
          headers: credentials(config, secrets),
          signal,
        });
        const issue = parse(Issue, body, 'get issue');
        return {
          key: issue.key,
          id: issue.id,
          url: browseUrl(http, issue.key),
          summary: issue.fields.summary ?? null,
          description: textFromAdf(issue.fields.description).trim(),
          status: issue.fields.status?.name ?? null,
          priority: issue.fields.priority?.name ?? null,
          labels: issue.fields.labels ?? [],
        };
      },
    }),
    comment: action({
      title: 'Comment on an issue',
      impact: 'write',
      input: z.object({ key: IssueKey, body: z.string().trim().min(1).max(32_000) }).strict(),
      output: z.object({ id: z.string(), key: z.string(), self: z.string() }),
      async run({ input, http, secrets, config, signal }) {
        const response = await http.request({
          method: 'POST',
          path: `/rest/api/3/issue/${encodeURIComponent(input.key)}/comment`,
          headers: credentials(config, secrets),
          json: { body: adfFromText(input.body) },
          accept: [400],
          signal,
        });
        if (response.status === 400) throw rejected(response, `comment on ${input.key}`);
        const made = parse(Comment, response.json(), 'add comment');
        return { id: made.id, key: input.key, self: made.self };
      },
    }),
  },
});
