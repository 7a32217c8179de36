import { useEffect, useState } from 'react';
import { api, type Page, type Run } from '../api.ts';
import { ago, StatusChip } from '../format.tsx';
import { Link } from '../router.tsx';

export function RunsPage() {
  const [runs, setRuns] = useState<Run[]>([]);
  const [status, setStatus] = useState('');
  useEffect(() => {
    api<Page<Run>>('/api/v1/runs', { query: { limit: 100, status } })
      .then((r) => setRuns(r.items))
      .catch(() => setRuns([]));
  }, [status]);
  return (
    <section>
      <div className="toolbar">
        <h1>Runs</h1>
        <select aria-label="Run status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">Any status</option>
          {['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'].map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </div>
      <table>
        <thead>
          <tr>
            <th>Playbook</th>
            <th>Status</th>
            <th>Inputs</th>
            <th>Started by</th>
            <th>Started</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              <td>
                <Link to={`/runs/${r.id}`}>
                  {r.playbook_id} v{r.playbook_version}
                </Link>
              </td>
              <td>
                <StatusChip status={r.status} />
              </td>
              <td className="mono">{JSON.stringify(r.inputs).slice(0, 80)}</td>
              <td>{r.started_by}</td>
              <td>{ago(r.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
