import { useEffect, useState } from 'react';
import { api, can, type Me, type Page, type Run } from '../api.ts';
import { ago, StatusChip } from '../format.tsx';
import { Link } from '../router.tsx';
import { useAiStatus } from './ai-panel.tsx';

interface PlaybookItem {
  id: string | null;
  version: number | null;
  title: string | null;
  file: string;
  valid: boolean;
  issues: Array<{ path?: string; message: string } | string>;
}

export function PlaybooksPage(props: { me: Me }) {
  const [items, setItems] = useState<PlaybookItem[]>([]);
  const [lastRuns, setLastRuns] = useState<Map<string, Run>>(new Map());
  const aiEnabled = useAiStatus()?.enabled === true;
  useEffect(() => {
    api<Page<PlaybookItem>>('/api/v1/playbooks')
      .then((r) => setItems(r.items))
      .catch(() => {});
    if (can(props.me, 'runs:read'))
      api<Page<Run>>('/api/v1/runs', { query: { limit: 200 } })
        .then((r) => {
          const last = new Map<string, Run>();
          for (const run of r.items) if (!last.has(run.playbook_id)) last.set(run.playbook_id, run);
          setLastRuns(last);
        })
        .catch(() => {});
  }, [props.me]);
  return (
    <section>
      <div className="toolbar">
        <h1>Playbooks</h1>
        {aiEnabled && (
          <Link to="/playbook-drafts" testId="playbook-drafts-link">
            AI playbook drafts
          </Link>
        )}
      </div>
      <table>
        <thead>
          <tr>
            <th>Playbook</th>
            <th>Version</th>
            <th>Title</th>
            <th>Last run</th>
            <th>File</th>
          </tr>
        </thead>
        <tbody>
          {items.map((p) => {
            const last = p.id ? lastRuns.get(p.id) : undefined;
            return (
              <tr key={p.file} data-testid="playbook-row">
                <td className="mono">{p.id && p.valid ? <Link to={`/playbooks/${encodeURIComponent(p.id)}`}>{p.id}</Link> : (p.id ?? '—')}</td>
                <td>{p.version ?? '—'}</td>
                <td>
                  {p.title}
                  {!p.valid && (
                    <ul className="issues">
                      {p.issues.map((issue) => {
                        const text = typeof issue === 'string' ? issue : `${issue.path ?? ''} ${issue.message}`;
                        return (
                          <li key={text} className="error">
                            {text}
                          </li>
                        );
                      })}
                    </ul>
                  )}
                </td>
                <td>
                  {last ? (
                    <Link to={`/runs/${last.id}`}>
                      <StatusChip status={last.status} /> {ago(last.created_at)}
                    </Link>
                  ) : (
                    <span className="muted">never</span>
                  )}
                </td>
                <td className="mono muted">{p.file.split('/').pop()}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
