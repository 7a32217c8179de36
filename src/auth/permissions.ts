/**
 * The permission catalog and what each role grants. This table is the single source of truth: the
 * server checks routes against it, tokens are scoped within it and docs/security.md reproduces it
 * (a test keeps the two in step).
 */
export const PERMISSIONS = [
  'alerts:ingest',
  'alerts:read',
  'cases:read',
  'cases:write',
  'cases:assign',
  'cases:close',
  'observables:read',
  'observables:write',
  'tasks:write',
  'comments:write',
  'evidence:write',
  'playbooks:read',
  'playbooks:write',
  'runs:read',
  'runs:start',
  'runs:cancel',
  'approvals:decide',
  'audit:read',
  'audit:export',
  'users:admin',
  'tokens:self',
  'tokens:admin',
  'integrations:read',
  'integrations:write',
  'settings:admin',
  'metrics:read',
  'actions:read',
  'actions:rollback',
  'intel:read',
  'intel:write',
  'taxii:read',
  'taxii:write',
  'edl:read',
  'hunts:read',
  'hunts:run',
  'phishing:submit',
  'ai:use',
  'ai:draft',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/**
 * What a route declares when any signed-in caller may use it (sign out, "who am I", change my own
 * password). It is not a permission anyone is granted: the server treats it as "authenticated".
 */
export const AUTHENTICATED = 'authenticated';

export const ROLES = ['viewer', 'analyst', 'responder', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const VIEWER: readonly Permission[] = [
  'alerts:read',
  'cases:read',
  'observables:read',
  'playbooks:read',
  'runs:read',
  'integrations:read',
  'metrics:read',
  // Which blocks and isolations are in effect, and until when (the containment lifecycle).
  'actions:read',
  'intel:read',
  'taxii:read',
  // Firewalls poll the External Dynamic Lists with a token scoped to this.
  'edl:read',
  'hunts:read',
  // Everyone may mint tokens for their own scripts; a token never exceeds its owner's permissions.
  'tokens:self',
];

const ANALYST: readonly Permission[] = [
  ...VIEWER,
  'cases:write',
  'cases:assign',
  'cases:close',
  'observables:write',
  'tasks:write',
  'comments:write',
  'evidence:write',
  'runs:start',
  'intel:write',
  'taxii:write',
  'phishing:submit',
  // Ask the model for a summary, an explanation or next steps: suggestions only, nothing starts.
  'ai:use',
];

/** Role → permissions. Roles are additive: a user with several roles holds the union. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  viewer: VIEWER,
  analyst: ANALYST,
  responder: [...ANALYST, 'runs:cancel', 'actions:rollback', 'hunts:run', 'ai:draft'],
  approver: [...VIEWER, 'approvals:decide', 'ai:use'],
  admin: PERMISSIONS,
};

/** One line per role for docs and `--help`. */
export const ROLE_SUMMARIES: Readonly<Record<Role, string>> = {
  viewer: 'reads alerts, cases, observables, playbooks, runs, integrations and metrics (not the audit log)',
  analyst: 'viewer + works cases (write, assign, close, tasks, comments, evidence, observables), starts runs and asks the AI assistant',
  responder: 'analyst + cancels runs, rolls back containment actions, runs hunts and their remediation, drafts playbooks with AI',
  approver: 'viewer + decides approvals of high-impact actions and asks the AI assistant',
  admin: 'everything, including users, tokens of others, settings, integrations and the audit log',
};

const PERMISSION_SET: ReadonlySet<string> = new Set(PERMISSIONS);
const ROLE_SET: ReadonlySet<string> = new Set(ROLES);

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && PERMISSION_SET.has(value);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && ROLE_SET.has(value);
}

/** The union of the roles' permissions, in catalog order; unknown role names grant nothing. */
export function permissionsForRoles(roles: readonly string[]): Permission[] {
  const granted = new Set<Permission>();
  for (const role of roles) {
    if (isRole(role)) for (const permission of ROLE_PERMISSIONS[role]) granted.add(permission);
  }
  return PERMISSIONS.filter((p) => granted.has(p));
}
