import { useCallback, useEffect, useState } from 'react';
import { type ApprovalItem, api, can, type Me } from '../api.ts';
import { Json } from '../format.tsx';
import { liveLabel, useLive } from '../live.ts';
import { Link } from '../router.tsx';

/**
 * The approvals inbox: for each pending approval the exact action and arguments that will run, the evidence
 * and the policy's reasons, how many of the required approvers have signed, and how long is left. The
 * decision is bound to the arguments' hash, so an approval can never release different arguments.
 */
function Countdown(props: { until: string | null }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  if (!props.until) return <span className="muted">no expiry</span>;
  const left = Date.parse(props.until) - now;
  if (left <= 0) return <span className="sla sla-breached">expired</span>;
  const h = Math.floor(left / 3_600_000);
  const m = Math.floor((left % 3_600_000) / 60_000);
  const s = Math.floor((left % 60_000) / 1000);
  return (
    <span className={`sla ${left < 15 * 60_000 ? 'sla-soon' : 'sla-running'}`} data-testid="expiry">
      expires in {h > 0 ? `${h}h ` : ''}
      {m}m {String(s).padStart(2, '0')}s
    </span>
  );
}

function ApprovalCard(props: { me: Me; item: ApprovalItem; onDeciding?: () => void; onDecided: () => void }) {
  const { me, item } = props;
  const [detail, setDetail] = useState<ApprovalItem>(item);
  const [comment, setComment] = useState('');
  const [result, setResult] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (item.kind !== 'policy') return;
    api<{ approval: ApprovalItem }>(`/api/v1/approvals/${item.id}`)
      .then((r) => setDetail(r.approval))
      .catch(() => {});
  }, [item]);
  const request = detail.request;
  const signed = detail.approvals ?? [];
  const required = detail.required ?? 1;
  const alreadySigned = signed.includes(me.name);

  const decide = async (decision: 'approve' | 'reject') => {
    props.onDeciding?.();
    setBusy(true);
    try {
      if (item.kind === 'policy') {
        const r = await api<{ approval: { status: string }; released: boolean }>(`/api/v1/approvals/${item.id}/decide`, {
          method: 'POST',
          body: { decision, arguments_hash: request?.arguments_hash ?? '', ...(comment ? { comment } : {}) },
        });
        setResult(r.released ? 'Approved: the action is released.' : `Recorded (${r.approval.status}).`);
      } else {
        await api(`/api/v1/runs/${item.run_id}/approvals/${item.step}`, { method: 'POST', body: { decision, ...(comment ? { comment } : {}) } });
        setResult(decision === 'approve' ? 'Approved.' : 'Rejected.');
      }
      props.onDecided();
    } catch (e) {
      setResult((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const [glass, setGlass] = useState<string>();
  const breakGlass = async () => {
    if (!glass?.trim()) return;
    props.onDeciding?.();
    try {
      await api(`/api/v1/approvals/${item.id}/break-glass`, { method: 'POST', body: { reason: glass.trim() } });
      setResult('Released by break-glass (flagged for review).');
      props.onDecided();
    } catch (e) {
      setResult((e as Error).message);
    }
  };

  return (
    <li className="approval" data-testid="approval">
      <div className="approval-head">
        <strong className="mono" data-testid="approval-action">
          {detail.action ?? `approval step ${detail.step}`}
        </strong>
        {request && <span className={`chip impact-${request.action.impact}`}>{request.action.impact}</span>}
        <span className="quorum" data-testid="quorum">
          {signed.length} of {required} approvals
        </span>
        <Countdown until={detail.expires_at} />
      </div>
      {request && (
        <>
          <h3>Arguments</h3>
          <Json value={request.arguments} />
          <h3>Why policy asks</h3>
          <ul className="reasons" data-testid="policy-reasons">
            {request.policy.reasons.map((r) => (
              <li key={`${r.rule}-${r.text}`}>
                <span className="mono">{r.rule}</span>: {r.text}
              </li>
            ))}
          </ul>
          {request.evidence.length > 0 && (
            <>
              <h3>Evidence</h3>
              <ul>
                {request.evidence.map((e) => (
                  <li key={`${e.kind}-${e.id}`}>
                    {e.kind}: {e.title}
                  </li>
                ))}
              </ul>
            </>
          )}
          {request.decisions.length > 0 && (
            <>
              <h3>Decisions so far</h3>
              <ul>
                {request.decisions.map((d) => (
                  <li key={`${d.approver}-${d.at}`}>
                    {d.approver} {d.decision}d{d.comment ? `: “${d.comment}”` : ''}
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
      <div className="links">
        {detail.run_id && <Link to={`/runs/${detail.run_id}`}>run</Link>} {detail.case_id && <Link to={`/cases/${detail.case_id}`}>case</Link>}
        {request?.initiator && <span className="muted"> · requested by {request.initiator}</span>}
      </div>
      {can(me, 'approvals:decide') && !result && (
        <div className="decide">
          <textarea
            aria-label="Decision comment"
            placeholder="Comment (kept with the decision)"
            value={comment}
            onChange={(e) => setComment(e.target.value)}
            rows={2}
          />
          <button type="button" className="approve" disabled={busy || alreadySigned} onClick={() => decide('approve')}>
            Approve
          </button>
          <button type="button" className="reject" disabled={busy || alreadySigned} onClick={() => decide('reject')}>
            Reject
          </button>
          {alreadySigned && <span className="muted">You have already signed.</span>}
          {item.kind === 'policy' && me.roles.includes('admin') && glass === undefined && (
            <button type="button" className="break-glass" onClick={() => setGlass('')}>
              Break glass
            </button>
          )}
        </div>
      )}
      {glass !== undefined && !result && (
        <div className="decide glass">
          <input
            aria-label="Break-glass reason"
            placeholder="Why this must run now without the quorum (recorded on the audit chain)"
            value={glass}
            onChange={(e) => setGlass(e.target.value)}
          />
          <button type="button" className="break-glass" disabled={!glass.trim()} onClick={breakGlass}>
            Release now
          </button>
          <button type="button" onClick={() => setGlass(undefined)}>
            Cancel
          </button>
        </div>
      )}
      {result && (
        <p className="notice" data-testid="decision-result">
          {result}
        </p>
      )}
    </li>
  );
}

export function ApprovalsPage(props: { me: Me; onChange: () => void }) {
  const [items, setItems] = useState<ApprovalItem[]>();
  const [error, setError] = useState<string>();
  const load = useCallback(() => {
    api<{ items: ApprovalItem[] }>('/api/v1/approvals')
      .then((r) => setItems(r.items))
      .catch((e) => setError((e as Error).message));
  }, []);
  // The stream says when an approval opened or closed; without it the inbox polls every 5 seconds (and
  // every 30 with it: approvals decided on another server process are not streamed).
  const { onChange } = props;
  // Cards decided here stay (with their result) after a refresh drops them from the inbox.
  const [decided, setDecided] = useState<Map<string, ApprovalItem>>(new Map());
  const shown = items && [...items, ...[...decided.values()].filter((d) => !items.some((i) => i.id === d.id))];
  const live = useLive((event) => {
    if (event.topic === 'approvals') {
      load();
      onChange();
    }
  });
  useEffect(() => {
    load();
    const timer = setInterval(load, live ? 30_000 : 5000);
    return () => clearInterval(timer);
  }, [load, live]);
  return (
    <section data-testid="approvals">
      <h1>
        Approvals{' '}
        <span className={`live-badge${live ? ' live-on' : ''}`} data-testid="live-status" data-live={live ? 'on' : 'off'}>
          {liveLabel(live)}
        </span>
      </h1>
      {error && <p className="error">{error}</p>}
      {shown && shown.length === 0 && <p className="muted">Nothing waits for a decision.</p>}
      <ul className="approvals">
        {shown?.map((item) => (
          <ApprovalCard
            key={item.id}
            me={props.me}
            item={item}
            // Kept from the moment the decision is sent: the live refresh it causes can land before the answer.
            onDeciding={() => setDecided((d) => new Map(d).set(item.id, item))}
            onDecided={props.onChange}
          />
        ))}
      </ul>
    </section>
  );
}
