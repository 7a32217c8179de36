import { useEffect, useState } from 'react';
import { api } from '../api.ts';

interface AuditRecord {
  seq: number;
  time: string;
  actor: { name: string; kind: string };
  action: string;
  target: string;
  details: unknown;
  hash: string;
}

/** The tamper-evident audit log, newest first, with the chain verified on every visit. */
export function AuditPage() {
  const [records, setRecords] = useState<AuditRecord[]>([]);
  const [verify, setVerify] = useState<{ ok: boolean; records: number; broken?: { seq: number; reason: string } }>();
  const [action, setAction] = useState('');
  const [target, setTarget] = useState('');
  useEffect(() => {
    api<typeof verify>('/api/v1/audit/verify')
      .then(setVerify)
      .catch(() => {});
  }, []);
  useEffect(() => {
    api<{ items: AuditRecord[] }>('/api/v1/audit', { query: { order: 'desc', limit: 200, action, target } })
      .then((r) => setRecords(r.items))
      .catch(() => setRecords([]));
  }, [action, target]);
  return (
    <section>
      <div className="toolbar">
        <h1>Audit</h1>
        {verify && (
          <span className={`chain ${verify.ok ? 'chain-ok' : 'chain-broken'}`} data-testid="chain-status">
            {verify.ok ? `Chain verified: ${verify.records} records intact` : `Chain BROKEN at #${verify.broken?.seq}: ${verify.broken?.reason}`}
          </span>
        )}
      </div>
      <div className="filters">
        <input aria-label="Action" placeholder="action (e.g. case.closed)" onKeyDown={(e) => e.key === 'Enter' && setAction(e.currentTarget.value.trim())} />
        <input aria-label="Target" placeholder="target (e.g. case:<id>)" onKeyDown={(e) => e.key === 'Enter' && setTarget(e.currentTarget.value.trim())} />
      </div>
      <table className="audit">
        <thead>
          <tr>
            <th>#</th>
            <th>Time</th>
            <th>Actor</th>
            <th>Action</th>
            <th>Target</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {records.map((r) => (
            <tr key={r.seq}>
              <td>{r.seq}</td>
              <td>{new Date(r.time).toLocaleString()}</td>
              <td>{r.actor.name}</td>
              <td className="mono">{r.action}</td>
              <td className="mono">{r.target}</td>
              <td className="mono details">{JSON.stringify(r.details).slice(0, 160)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
