import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, type ApprovalItem, api, can, type Me } from '../api.ts';
import { ago, label, StatusChip } from '../format.tsx';
import { liveLabel, useLive } from '../live.ts';
import { Link } from '../router.tsx';

/**
 * Hunts across the fleet (`/api/v1/hunts`): how far each hunt got through the fleet, which hosts are hits
 * and why (the registry key, value and data the EDR found), and the staged remediation — canary, 10%, the
 * rest — with each wave's state, its verification by re-query, the approval it waits on, and a halt with
 * rollback. Hunt runs send no live events of their own, so the page polls
 * while something is moving and also refetches on the stream's run, approval and case events.
 * Every value here came from endpoints an attacker controls: it is rendered as text only.
 */
interface Sighting {
  host_id: string;
  hostname: string;
  key: string;
  value: string;
  type: string;
  data: string;
}
interface WaveHost {
  host_id: string;
  hostname: string;
  criticality: string;
  sightings: Sighting[];
  status: string;
  error?: string;
}
interface Wave {
  index: number;
  name: string;
  hosts: WaveHost[];
  status: string;
  approvals_required: number;
  approved_by: string[];
  failures: number;
}
export interface HuntRun {
  id: string;
  status: string;
  edr: { kind: string; instance: string };
  definition: { id: string; title: string; source: string; attack: string[] };
  case_id: string | null;
  dry_run: boolean;
  progress: { targeted: number; answered: number; pending: number; hosts_hit: number; sightings: number };
  sightings?: Sighting[];
  remediation: { status: string; waves: Wave[]; message: string | null };
  errors: string[];
  started_at: string;
  finished_at: string | null;
}

const ACTIVE_HUNT = new Set(['running']);
const ACTIVE_REMEDIATION = new Set(['planned', 'running', 'waiting_approval']);
const isActive = (h: HuntRun) => ACTIVE_HUNT.has(h.status) || ACTIVE_REMEDIATION.has(h.remediation.status);

/**
 * Refetches on live events and polls: quickly while `active`, slowly otherwise (hunts send no events). A
 * burst of run events while a wave runs costs one refetch at a time, not one per event.
 */
function usePolling(load: () => Promise<void>, active: boolean): boolean {
  const busy = useRef(false);
  const again = useRef(false);
  const refresh = useCallback(() => {
    if (busy.current) {
      again.current = true;
      return;
    }
    busy.current = true;
    load().finally(() => {
      busy.current = false;
      if (again.current) {
        again.current = false;
        refresh();
      }
    });
  }, [load]);
  const live = useLive((event) => {
    if (event.topic === 'runs' || event.topic === 'approvals' || event.topic === 'cases') refresh();
  });
  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, active ? 1000 : 10_000);
    return () => clearInterval(timer);
  }, [refresh, active]);
  return live;
}

export function HuntsPage(props: { me: Me; id?: string }) {
  return props.id ? <HuntDetail me={props.me} id={props.id} /> : <HuntList />;
}

function HuntList() {
  const [hunts, setHunts] = useState<HuntRun[]>();
  const [error, setError] = useState<string>();
  const load = useCallback(
    () =>
      api<{ items: HuntRun[] }>('/api/v1/hunts')
        .then((r) => {
          setHunts([...r.items].sort((a, b) => b.started_at.localeCompare(a.started_at)));
          setError(undefined);
        })
        .catch((e) => setError((e as Error).message)),
    [],
  );
  const live = usePolling(load, hunts?.some(isActive) ?? false);
  return (
    <section data-testid="hunts">
      <div className="toolbar">
        <h1>Hunts</h1>
        <span className={`live-badge${live ? ' live-on' : ''}`}>{liveLabel(live)}</span>
      </div>
      {error && <p className="error">{error}</p>}
      {hunts && hunts.length === 0 && <p className="muted">No hunts since the server started. Start one with `riposte hunt run` or POST /api/v1/hunts.</p>}
      {hunts && hunts.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Hunt</th>
              <th>ATT&amp;CK</th>
              <th>EDR</th>
              <th>Status</th>
              <th>Fleet</th>
              <th>Hits</th>
              <th>Remediation</th>
              <th>Started</th>
            </tr>
          </thead>
          <tbody>
            {hunts.map((h) => (
              <tr key={h.id} data-testid="hunt-row">
                <td>
                  <Link to={`/hunts/${h.id}`}>{h.definition.title}</Link>
                  {h.dry_run && <span className="muted"> (dry run)</span>}
                </td>
                <td className="mono">{h.definition.attack.join(', ') || '—'}</td>
                <td>
                  {h.edr.instance} <span className="muted">({h.edr.kind})</span>
                </td>
                <td>
                  <StatusChip status={h.status} />
                </td>
                <td>
                  {h.progress.answered} / {h.progress.targeted} answered
                  {h.progress.pending > 0 ? `, ${h.progress.pending} offline` : ''}
                </td>
                <td>{h.progress.hosts_hit} host(s)</td>
                <td>
                  <StatusChip status={h.remediation.status} />
                </td>
                <td>{ago(h.started_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The policy approval a wave's `hunt.remediate_wave` step waits on (the registry-hunt playbook), if any. */
type WaveApprovals = Map<number, ApprovalItem>;

async function waveApprovals(huntId: string): Promise<WaveApprovals> {
  const found: WaveApprovals = new Map();
  const inbox = await api<{ items: ApprovalItem[] }>('/api/v1/approvals');
  for (const item of inbox.items) {
    if (item.kind !== 'policy' || item.action !== 'hunt.remediate_wave') continue;
    const detail = (await api<{ approval: ApprovalItem }>(`/api/v1/approvals/${item.id}`)).approval;
    const args = detail.request?.arguments ?? {};
    if (args.hunt_id === huntId && typeof args.wave === 'number') found.set(args.wave, detail);
  }
  return found;
}

function HuntDetail(props: { me: Me; id: string }) {
  const { me, id } = props;
  const [hunt, setHunt] = useState<HuntRun>();
  const [approvals, setApprovals] = useState<WaveApprovals>(new Map());
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const mayReadApprovals = can(me, 'runs:read');
  const load = useCallback(async () => {
    await Promise.all([
      api<{ hunt: HuntRun }>(`/api/v1/hunts/${encodeURIComponent(id)}`)
        .then((r) => {
          setHunt(r.hunt);
          setError(undefined);
        })
        .catch((e) =>
          setError(
            e instanceof ApiError && e.status === 404
              ? 'No such hunt in this server. Hunt runs live in the server process: a hunt from before a restart is gone here, but its case keeps the evidence and every step.'
              : (e as Error).message,
          ),
        ),
      mayReadApprovals
        ? waveApprovals(id)
            .then(setApprovals)
            .catch(() => {})
        : undefined,
    ]);
  }, [id, mayReadApprovals]);
  const live = usePolling(load, hunt ? isActive(hunt) : true);

  const approveWave = async (wave: Wave) => {
    setNotice(undefined);
    try {
      await api(`/api/v1/hunts/${encodeURIComponent(id)}/waves/${wave.index}/approve`, { method: 'POST', body: {} });
      setNotice(`You approved wave ${wave.name}.`);
      await load();
    } catch (e) {
      setNotice((e as Error).message);
    }
  };

  if (error && !hunt) return <p className="error">{error}</p>;
  if (!hunt) return <p className="muted">Loading…</p>;
  const { progress, remediation } = hunt;
  const hitsByHost = new Map<string, Sighting[]>();
  for (const s of hunt.sightings ?? []) hitsByHost.set(s.hostname, [...(hitsByHost.get(s.hostname) ?? []), s]);
  return (
    <section data-testid="hunt-view">
      <div className="toolbar">
        <h1 data-testid="hunt-title">{hunt.definition.title}</h1>
        <span data-testid="hunt-status" data-status={hunt.status}>
          <StatusChip status={hunt.status} />
        </span>
        <span className={`live-badge${live ? ' live-on' : ''}`}>{liveLabel(live)}</span>
      </div>
      <table className="kv">
        <tbody>
          <tr>
            <th>Definition</th>
            <td>
              from {hunt.definition.source}
              {hunt.dry_run ? ' (dry run: nothing is changed)' : ''}
            </td>
          </tr>
          <tr>
            <th>ATT&amp;CK</th>
            <td data-testid="hunt-techniques">
              {hunt.definition.attack.map((t) => (
                <span key={t} className="chip mono">
                  {t}
                </span>
              ))}
            </td>
          </tr>
          <tr>
            <th>Case</th>
            <td>{hunt.case_id ? <Link to={`/cases/${hunt.case_id}`}>open the hunt's case</Link> : <span className="muted">none (no hits yet)</span>}</td>
          </tr>
          <tr>
            <th>Started</th>
            <td>
              {ago(hunt.started_at)}
              {hunt.finished_at ? `; finished ${ago(hunt.finished_at)}` : ''}
            </td>
          </tr>
        </tbody>
      </table>

      <h2>Fleet</h2>
      <table data-testid="hunt-fleet">
        <thead>
          <tr>
            <th>EDR</th>
            <th>Endpoints</th>
            <th>Answered</th>
            <th>Hits</th>
            <th>Offline</th>
            <th>Errors</th>
          </tr>
        </thead>
        <tbody>
          <tr data-testid="hunt-progress">
            <td>
              {hunt.edr.instance} <span className="muted">({hunt.edr.kind})</span>
            </td>
            <td>{progress.targeted}</td>
            <td>{progress.answered}</td>
            <td data-testid="hunt-hosts-hit">
              {progress.hosts_hit} host(s), {progress.sightings} value(s)
            </td>
            <td>{progress.pending}</td>
            <td>{hunt.errors.length}</td>
          </tr>
        </tbody>
      </table>
      {hunt.status === 'expired' && (
        <p className="muted" data-testid="hunt-expired">
          {progress.pending} endpoint(s) did not answer before the hunt expired: they may still carry what it looks for.
        </p>
      )}
      {hunt.errors.length > 0 && (
        <ul className="reasons" data-testid="hunt-errors">
          {hunt.errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      )}

      <h2>Hits</h2>
      {hitsByHost.size === 0 ? (
        <p className="muted">No host has matched yet.</p>
      ) : (
        <table data-testid="hunt-hits">
          <thead>
            <tr>
              <th>Host</th>
              <th>Registry key</th>
              <th>Value</th>
              <th>Type</th>
              <th>Data</th>
            </tr>
          </thead>
          <tbody>
            {[...hitsByHost.entries()].flatMap(([host, sightings]) =>
              sightings.map((s, i) => (
                <tr key={`${host}:${s.key}:${s.value}`} data-testid="hunt-hit" data-host={host}>
                  <td className="mono">{i === 0 ? host : ''}</td>
                  <td className="mono">{s.key}</td>
                  <td className="mono">{s.value}</td>
                  <td className="mono">{s.type}</td>
                  <td className="mono">{s.data}</td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      )}

      <h2>
        Remediation{' '}
        <span data-testid="remediation-status" data-status={remediation.status}>
          <StatusChip status={remediation.status} />
        </span>
      </h2>
      {remediation.message && (
        <p className={remediation.status === 'halted' ? 'error' : 'notice'} data-testid="remediation-message">
          {remediation.message}
        </p>
      )}
      {notice && <p className="notice">{notice}</p>}
      {remediation.waves.length === 0 ? (
        <p className="muted">Not started: waves are planned (canary, 10%, the rest) when remediation begins.</p>
      ) : (
        <ol className="waves">
          {remediation.waves.map((wave) => (
            <WaveCard key={wave.index} me={me} wave={wave} approval={approvals.get(wave.index)} onApprove={() => approveWave(wave)} />
          ))}
        </ol>
      )}
    </section>
  );
}

const VERIFICATION: Record<string, string> = {
  planned: 'not yet run',
  waiting_approval: 'waiting for approval',
  remediated: 'removed, re-query pending',
  verified: 'clean on re-query',
  failed: 'failed',
  rolled_back: 'rolled back',
  rollback_failed: 'rollback failed',
  skipped: 'skipped (remediation halted)',
};

function WaveCard(props: { me: Me; wave: Wave; approval: ApprovalItem | undefined; onApprove: () => void }) {
  const { me, wave, approval } = props;
  const critical = wave.hosts.filter((h) => h.criticality === 'critical').map((h) => h.hostname);
  const verified = wave.hosts.filter((h) => h.status === 'verified').length;
  const signed = approval?.approvals ?? approval?.request?.decisions.filter((d) => d.decision === 'approve').map((d) => d.approver) ?? [];
  const required = approval?.required ?? approval?.request?.required ?? 1;
  // A wave the direct remediation (POST /hunts/{id}/remediate) holds is approved here; a playbook's wave
  // waits in the approvals inbox like any other policy decision.
  const waitsHere = wave.status === 'waiting_approval' && wave.approvals_required > wave.approved_by.length;
  // A playbook's wave stays "planned" on the hunt while its step waits in the inbox: say what it waits for.
  const status = approval && wave.status === 'planned' ? 'waiting_approval' : wave.status;
  return (
    <li className="wave" data-testid="wave" data-wave={wave.name} data-status={status}>
      <div className="wave-head">
        <strong>{wave.name}</strong> <span className="muted">wave {wave.index + 1}</span> <StatusChip status={status} />{' '}
        <span data-testid="wave-verification">
          {wave.status === 'verified' || wave.status === 'halted'
            ? `re-query: ${verified} of ${wave.hosts.length} host(s) clean${wave.failures ? `, ${wave.failures} failed` : ''}`
            : `${wave.hosts.length} host(s)`}
        </span>
        {critical.length > 0 && <span className="chip sev-critical">critical: {critical.join(', ')}</span>}
      </div>
      {approval && (
        <p className="notice" data-testid="wave-approval">
          Waiting for approval: {signed.length} of {required} approver(s)
          {signed.length > 0 ? ` (${signed.join(', ')})` : ''}. {approval.request?.policy.reasons[0]?.text ?? ''}{' '}
          <Link to="/approvals" testId="wave-approval-link">
            Decide in the approvals inbox
          </Link>
        </p>
      )}
      {waitsHere && (
        <p className="notice" data-testid="wave-approval">
          Waiting for approval: {wave.approved_by.length} of {wave.approvals_required} approver(s).{' '}
          {can(me, 'approvals:decide') && (
            <button type="button" onClick={props.onApprove}>
              Approve wave
            </button>
          )}
        </p>
      )}
      {!waitsHere && wave.approved_by.length > 0 && (
        <p className="muted">
          Approved ({wave.approved_by.length} of {wave.approvals_required})
        </p>
      )}
      <table>
        <thead>
          <tr>
            <th>Host</th>
            <th>Criticality</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {wave.hosts.map((h) => (
            <tr key={h.host_id} data-testid="wave-host" data-status={h.status}>
              <td className="mono">{h.hostname}</td>
              <td>{h.criticality}</td>
              <td>
                {VERIFICATION[h.status] ?? label(h.status)}
                {h.error ? `: ${h.error}` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </li>
  );
}
