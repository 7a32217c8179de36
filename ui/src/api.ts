/**
 * The UI's only way to the server: the public REST API under /api/v1, with the session cookie set at sign-in
 * and, on every state-changing request, the CSRF token (double submit: it is also in a script-readable cookie).
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface Me {
  name: string;
  roles: string[];
  permissions: string[];
}

let csrfToken: string | undefined;

function cookie(name: string): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

function csrf(): string | undefined {
  return csrfToken ?? cookie('__Host-riposte_csrf') ?? cookie('riposte_csrf');
}

/** Listeners told when the session is gone (401), so the shell can show the sign-in page. */
const signedOut = new Set<() => void>();
export function onSignedOut(listener: () => void): () => void {
  signedOut.add(listener);
  return () => signedOut.delete(listener);
}

export async function api<T>(
  path: string,
  options: { method?: string; body?: unknown; query?: Record<string, string | number | undefined>; headers?: Record<string, string> } = {},
): Promise<T> {
  const method = options.method ?? 'GET';
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
  const headers: Record<string, string> = { ...options.headers, accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    const token = csrf();
    if (token) headers['x-csrf-token'] = token;
  }
  const response = await fetch(url, {
    method,
    headers,
    credentials: 'same-origin',
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!response.ok) {
    const problem = (data ?? {}) as { code?: string; detail?: string; title?: string };
    if (response.status === 401 && !path.endsWith('/auth/login')) for (const listener of signedOut) listener();
    throw new ApiError(response.status, problem.code ?? 'http', problem.detail ?? problem.title ?? `${response.status} ${response.statusText}`);
  }
  return data as T;
}

export async function signIn(username: string, password: string): Promise<Me> {
  const result = await api<{ user: Me; csrf_token: string }>('/api/v1/auth/login', { method: 'POST', body: { username, password } });
  csrfToken = result.csrf_token;
  return result.user;
}

export async function signOut(): Promise<void> {
  try {
    await api('/api/v1/auth/logout', { method: 'POST' });
  } finally {
    csrfToken = undefined;
  }
}

export const can = (me: Me | undefined, permission: string): boolean => me?.permissions.includes(permission) ?? false;

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Sla {
  due_at: string | null;
  met_at: string | null;
  state: 'met' | 'breached' | 'running' | 'not_set';
}

export interface CaseItem {
  id: string;
  number: number;
  title: string;
  description: string;
  severity: string;
  status: string;
  phase: string;
  tlp: string;
  pap: string;
  assignee: string | null;
  tags: string[];
  techniques: string[];
  source: string | null;
  resolution: string | null;
  alert_count: number;
  created_at: string;
  updated_at: string;
  sla: { acknowledge: Sla; contain: Sla; resolve: Sla };
}

export interface Observable {
  id: string;
  type: string;
  value: string;
  sightings: number;
  verdict: string | null;
  confidence: number | null;
  enrichment: Record<string, unknown>;
  case_sightings?: number;
}

export interface StepRecord {
  key: string;
  status: string;
  attempts: number;
  input: unknown;
  output: unknown;
  error: unknown;
  at: string | null;
}

export interface Run {
  id: string;
  playbook_id: string;
  playbook_version: number;
  status: string;
  mode: string;
  inputs: Record<string, unknown>;
  output: unknown;
  error: unknown;
  started_by: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  wake_at: string | null;
  steps?: StepRecord[];
}

export interface ApprovalItem {
  id: string;
  kind: 'policy' | 'step';
  status: string;
  action: string | null;
  run_id: string | null;
  step: string | null;
  case_id: string | null;
  required?: number;
  approvals?: string[];
  expires_at: string | null;
  request?: {
    arguments: Record<string, unknown>;
    arguments_hash: string;
    action: { id: string; impact: string };
    evidence: Array<{ kind: string; id: string; title: string }>;
    policy: { rule: { id: string; policy_id: string } | null; reasons: Array<{ rule: string; decision: string; text: string }> };
    required: number;
    roles: string[];
    initiator?: string;
    decisions: Array<{ approver: string; decision: string; comment?: string; at: number }>;
  };
}
