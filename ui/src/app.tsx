import { type FormEvent, type ReactElement, useCallback, useEffect, useState } from 'react';
import { ApiError, api, can, type Me, onSignedOut, signIn, signOut } from './api.ts';
import { useLive } from './live.ts';
import { ApprovalsPage } from './pages/approvals.tsx';
import { AuditPage } from './pages/audit.tsx';
import { CaseQueue } from './pages/case-queue.tsx';
import { CasePage } from './pages/case-view.tsx';
import { ContainmentPage } from './pages/containment.tsx';
import { DashboardPage } from './pages/dashboard.tsx';
import { HuntsPage } from './pages/hunts.tsx';
import { IntegrationsPage } from './pages/integrations.tsx';
import { IntelPage } from './pages/intel.tsx';
import { PlaybookDraftsPage } from './pages/playbook-drafts.tsx';
import { PlaybookEditor } from './pages/playbook-editor.tsx';
import { PlaybooksPage } from './pages/playbooks.tsx';
import { RunPage } from './pages/run-view.tsx';
import { RunsPage } from './pages/runs.tsx';
import { Link, navigate, useLocation } from './router.tsx';

export function App() {
  const [me, setMe] = useState<Me | undefined | null>(undefined);
  useEffect(() => {
    api<Me>('/api/v1/auth/me')
      .then(setMe)
      .catch(() => setMe(null));
    return onSignedOut(() => setMe(null));
  }, []);
  if (me === undefined) return <div className="loading">Loading…</div>;
  if (me === null) return <LoginPage onSignedIn={setMe} />;
  return <Shell me={me} onSignedOut={() => setMe(null)} />;
}

function LoginPage(props: { onSignedIn: (me: Me) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      props.onSignedIn(await signIn(username, password));
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? 'Wrong user name or password.' : (e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="login">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>Riposte</h1>
        <label>
          User name
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function Shell(props: { me: Me; onSignedOut: () => void }) {
  const { me } = props;
  const { path } = useLocation();
  const [pending, setPending] = useState<number>();
  const refreshInbox = useCallback(() => {
    if (!can(me, 'runs:read')) return;
    api<{ items: unknown[] }>('/api/v1/approvals')
      .then((r) => setPending(r.items.length))
      .catch(() => {});
  }, [me]);
  // The badge follows the live stream; the 10-second poll stays for when the stream is down.
  useLive((event) => {
    if (event.topic === 'approvals') refreshInbox();
  });
  useEffect(() => {
    refreshInbox();
    const timer = setInterval(refreshInbox, 10_000);
    return () => clearInterval(timer);
  }, [refreshInbox]);
  useEffect(() => {
    if (path === '/' || path === '/login') navigate('/cases', { replace: true });
  }, [path]);

  const nav: Array<[string, string, boolean]> = [
    ['/cases', 'Cases', can(me, 'cases:read')],
    ['/approvals', 'Approvals', can(me, 'runs:read')],
    ['/runs', 'Runs', can(me, 'runs:read')],
    ['/containment', 'Containment', can(me, 'actions:read')],
    ['/playbooks', 'Playbooks', can(me, 'playbooks:read')],
    ['/integrations', 'Integrations', can(me, 'integrations:read')],
    ['/intel', 'Intel', can(me, 'intel:read')],
    ['/hunts', 'Hunts', can(me, 'hunts:read')],
    ['/dashboard', 'Dashboard', can(me, 'metrics:read')],
    ['/audit', 'Audit', can(me, 'audit:read')],
  ];
  const section = `/${path.split('/')[1] ?? ''}`;
  let page: ReactElement;
  const caseMatch = /^\/cases\/([^/]+)$/.exec(path);
  const runMatch = /^\/runs\/([^/]+)$/.exec(path);
  const playbookMatch = /^\/playbooks\/([^/]+)$/.exec(path);
  const draftMatch = /^\/playbook-drafts(?:\/([^/]+)(\/edit)?)?$/.exec(path);
  const huntMatch = /^\/hunts\/([^/]+)$/.exec(path);
  if (caseMatch?.[1]) page = <CasePage me={me} id={decodeURIComponent(caseMatch[1])} />;
  else if (runMatch?.[1]) page = <RunPage me={me} id={decodeURIComponent(runMatch[1])} onChange={refreshInbox} />;
  else if (draftMatch && can(me, 'playbooks:read'))
    page = <PlaybookDraftsPage me={me} id={draftMatch[1] ? decodeURIComponent(draftMatch[1]) : undefined} edit={draftMatch[2] !== undefined} />;
  else if (playbookMatch?.[1]) page = <PlaybookEditor me={me} id={decodeURIComponent(playbookMatch[1])} />;
  else if (huntMatch?.[1]) page = <HuntsPage me={me} id={decodeURIComponent(huntMatch[1])} />;
  else if (section === '/hunts') page = <HuntsPage me={me} />;
  else if (section === '/approvals') page = <ApprovalsPage me={me} onChange={refreshInbox} />;
  else if (section === '/runs') page = <RunsPage />;
  else if (section === '/playbooks') page = <PlaybooksPage me={me} />;
  else if (section === '/integrations') page = <IntegrationsPage me={me} />;
  else if (section === '/containment') page = <ContainmentPage me={me} />;
  else if (section === '/intel') page = <IntelPage me={me} />;
  else if (section === '/dashboard') page = <DashboardPage />;
  else if (section === '/audit') page = <AuditPage />;
  else page = <CaseQueue me={me} />;

  return (
    <div className="shell">
      <header className="topbar">
        <Link to="/cases" className="brand">
          Riposte
        </Link>
        <nav aria-label="Main">
          {nav
            .filter(([, , allowed]) => allowed)
            .map(([to, text]) => (
              <Link key={to} to={to} className={section === to ? 'active' : undefined} testId={`nav-${text.toLowerCase()}`}>
                {text}
                {to === '/approvals' && pending ? <span className="badge">{pending}</span> : null}
              </Link>
            ))}
        </nav>
        <div className="who">
          <span data-testid="whoami">
            {me.name} <small>({me.roles.join(', ')})</small>
          </span>
          <button
            type="button"
            className="link"
            onClick={async () => {
              await signOut().catch(() => {});
              props.onSignedOut();
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main className="content">{page}</main>
    </div>
  );
}
