import { Fragment, useCallback, useEffect, useState } from 'react';
import { ApiError, api, can, type Me, type Page } from '../api.ts';
import { ago, Json, StatusChip } from '../format.tsx';
import { Link } from '../router.tsx';

/**
 * Containment in effect: blocks, isolations and disabled accounts the automation performed, until when they
 * hold, and their undo. A rollback runs the action's inverse as a playbook run (so policy may hold it for
 * approval) and always asks why; only `actions:rollback` holders see the button, and the API refuses others.
 */
export interface ContainedAction {
  id: string;
  run_id: string;
  step: string;
  case_id: string | null;
  action: string;
  target: string | null;
  arguments: Record<string, unknown>;
  inverse: { action: string; arguments: Record<string, unknown> };
  expires_at: string | null;
  status: string;
  performed_by: string;
  reason: string | null;
  rollback: { run_id: string; by: string | null; reason: string | null; error: unknown } | null;
  created_at: string;
  updated_at: string;
}

const FILTERS: Array<[string, string]> = [
  ['active', 'Active'],
  ['rolling_back', 'Rolling back'],
  ['rolled_back', 'Rolled back'],
  ['expired', 'Expired'],
  ['rollback_failed', 'Rollback failed'],
  ['', 'All'],
];

export function ExpiryCountdown(props: { until: string | null; status: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  if (props.status !== 'active') return <span className="muted">—</span>;
  if (!props.until) return <span className="muted">until rolled back</span>;
  const left = Date.parse(props.until) - now;
  if (left <= 0) return <span className="sla sla-breached">expiring</span>;
  const d = Math.floor(left / 86_400_000);
  const h = Math.floor((left % 86_400_000) / 3_600_000);
  const m = Math.floor((left % 3_600_000) / 60_000);
  const s = Math.floor((left % 60_000) / 1000);
  return (
    <span className={`sla ${left < 15 * 60_000 ? 'sla-soon' : 'sla-running'}`} data-testid="action-expiry" title={props.until}>
      expires in {d > 0 ? `${d}d ` : ''}
      {h > 0 || d > 0 ? `${h}h ` : ''}
      {m}m {String(s).padStart(2, '0')}s
    </span>
  );
}

function RollbackForm(props: { action: ContainedAction; onDone: (message: string) => void; onCancel: () => void }) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const r = await api<{ action: ContainedAction; run: { id: string; status: string } | null; approval_id?: string; error?: unknown }>(
        `/api/v1/actions/${encodeURIComponent(props.action.id)}/rollback`,
        { method: 'POST', body: { reason }, query: { wait: 5 } },
      );
      props.onDone(
        r.approval_id
          ? `Rollback waits for approval (${r.approval_id}).`
          : r.error
            ? `Rollback failed: ${JSON.stringify(r.error)}`
            : `Rollback ${r.action.status.replace(/_/g, ' ')}.`,
      );
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="rollback-form" data-testid="rollback-form">
      <label>
        Why undo {props.action.action} on {props.action.target ?? 'its target'}?
        <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="e.g. false positive: the IP is our partner's VPN" maxLength={500} />
      </label>
      <button type="button" disabled={busy || reason.trim().length < 3} onClick={submit}>
        Roll back
      </button>
      <button type="button" className="link" onClick={props.onCancel}>
        Cancel
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

export function ContainmentPage(props: { me: Me }) {
  const [status, setStatus] = useState('active');
  const [items, setItems] = useState<ContainedAction[]>();
  const [open, setOpen] = useState<string>();
  const [rolling, setRolling] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<string>();
  const load = useCallback(() => {
    api<Page<ContainedAction>>('/api/v1/actions', { query: { status, limit: 200 } })
      .then((r) => {
        setItems(r.items);
        setError(undefined);
      })
      .catch((e) => setError((e as Error).message));
  }, [status]);
  useEffect(() => {
    load();
    const timer = setInterval(load, 15_000);
    return () => clearInterval(timer);
  }, [load]);
  const mayRollback = can(props.me, 'actions:rollback');
  return (
    <section data-testid="containment">
      <div className="toolbar">
        <h1>Containment</h1>
        <div className="segmented" role="tablist" aria-label="Action status">
          {FILTERS.map(([value, text]) => (
            <button
              key={value || 'all'}
              type="button"
              role="tab"
              aria-selected={status === value}
              className={status === value ? 'active' : undefined}
              onClick={() => setStatus(value)}
            >
              {text}
            </button>
          ))}
        </div>
      </div>
      {notice && (
        <p className="notice" data-testid="containment-notice">
          {notice}
        </p>
      )}
      {error && <p className="error">{error}</p>}
      {items && items.length === 0 && <p className="muted">No actions here.</p>}
      <table>
        <thead>
          <tr>
            <th>Action</th>
            <th>Target</th>
            <th>Status</th>
            <th>Expiry</th>
            <th>Performed</th>
            <th>Case / run</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items?.map((a) => (
            <Fragment key={a.id}>
              <tr data-testid="action-row" data-status={a.status} onClick={() => setOpen(open === a.id ? undefined : a.id)} className="clickable">
                <td className="mono">{a.action}</td>
                <td className="mono">{a.target ?? '—'}</td>
                <td>
                  <StatusChip status={a.status} />
                </td>
                <td>
                  <ExpiryCountdown until={a.expires_at} status={a.status} />
                </td>
                <td>
                  {a.performed_by} <span className="muted">{ago(a.created_at)}</span>
                </td>
                <td>
                  {a.case_id && (
                    <Link to={`/cases/${a.case_id}`} testId="action-case">
                      case
                    </Link>
                  )}{' '}
                  <Link to={`/runs/${a.run_id}`} testId="action-run">
                    run
                  </Link>
                  {a.rollback && (
                    <>
                      {' · '}
                      <Link to={`/runs/${a.rollback.run_id}`}>undo run</Link>
                    </>
                  )}
                </td>
                <td>
                  {mayRollback && (a.status === 'active' || a.status === 'rollback_failed') && (
                    <button
                      type="button"
                      onClick={(e) => {
                        e.stopPropagation();
                        setRolling(a.id);
                      }}
                    >
                      Roll back…
                    </button>
                  )}
                </td>
              </tr>
              {rolling === a.id && (
                <tr>
                  <td colSpan={7}>
                    <RollbackForm
                      action={a}
                      onCancel={() => setRolling(undefined)}
                      onDone={(message) => {
                        setRolling(undefined);
                        setNotice(message);
                        load();
                      }}
                    />
                  </td>
                </tr>
              )}
              {open === a.id && (
                <tr className="detail-row">
                  <td colSpan={7}>
                    <div className="two-col">
                      <div>
                        <h3>Arguments</h3>
                        <Json value={a.arguments} />
                        {a.reason && <p>Reason: {a.reason}</p>}
                      </div>
                      <div>
                        <h3>Undo: {a.inverse.action}</h3>
                        <Json value={a.inverse.arguments} />
                        {a.rollback && (
                          <p>
                            Rolled back by {a.rollback.by ?? '—'}: {a.rollback.reason ?? '—'}
                          </p>
                        )}
                        {a.rollback?.error != null && <Json value={a.rollback.error} />}
                      </div>
                    </div>
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </section>
  );
}
