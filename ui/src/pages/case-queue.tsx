import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { api, type CaseItem, can, type Me, type Page } from '../api.ts';
import { ago, SeverityChip, SlaBadge, StatusChip } from '../format.tsx';
import { useLive } from '../live.ts';
import { Link, navigate, useLocation } from '../router.tsx';

/**
 * The case queue: one server-side page at a time (keyset cursors, so page 2,000 of 100,000 cases costs what
 * page 1 does), filters kept in the URL so a view can be bookmarked and shared, and the keyboard:
 * j/k move, Enter opens, x selects, / searches.
 */
const STATUSES = ['new', 'acknowledged', 'in_progress', 'contained', 'resolved', 'closed'];
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'informational'];
const RESOLUTIONS = ['false_positive', 'true_positive', 'benign_positive', 'duplicate', 'other'];
const FILTERS = ['status', 'severity', 'phase', 'assignee', 'tag', 'technique', 'q'] as const;
const PHASES: Array<[string, string]> = [
  ['preparation', 'Preparation'],
  ['detection_analysis', 'Detection & analysis'],
  ['containment_eradication_recovery', 'Containment & recovery'],
  ['post_incident', 'Post-incident'],
];
const PAGE_SIZE = 50;

export function CaseQueue(props: { me: Me }) {
  const { me } = props;
  const { query } = useLocation();
  const filterKey = FILTERS.map((f) => `${f}=${query.get(f) ?? ''}`).join('&');
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [page, setPage] = useState<Page<CaseItem>>();
  const [error, setError] = useState<string>();
  const [active, setActive] = useState(0);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [assignee, setAssignee] = useState('');
  const [resolution, setResolution] = useState('false_positive');
  const [notice, setNotice] = useState<string>();
  const search = useRef<HTMLInputElement>(null);
  const cursor = cursors[cursors.length - 1];

  // Answers can arrive out of order when filters change quickly: only the latest request may fill the table.
  const latest = useRef(0);
  const load = useCallback(async () => {
    const params = new URLSearchParams(filterKey);
    const request = ++latest.current;
    try {
      const result = await api<Page<CaseItem>>('/api/v1/cases', {
        query: { ...Object.fromEntries([...params].filter(([, v]) => v !== '')), limit: PAGE_SIZE, cursor },
      });
      if (request !== latest.current) return;
      setPage(result);
      setError(undefined);
    } catch (e) {
      if (request === latest.current) setError((e as Error).message);
    }
  }, [filterKey, cursor]);

  // New cases are announced, not inserted: a table that moves under the analyst's j/k would lose their place.
  const [fresh, setFresh] = useState(0);
  useLive((event) => {
    if (event.topic === 'cases' && event.type === 'case.created') setFresh((n) => n + 1);
  });
  useEffect(() => {
    load();
    setFresh(0);
  }, [load]);
  // A new filter starts from the first page with nothing selected.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the filters change
  useEffect(() => {
    setCursors([undefined]);
    setSelected(new Set());
    setActive(0);
  }, [filterKey]);

  const items = page?.items ?? [];
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      if (target.closest('input, textarea, select') || event.metaKey || event.ctrlKey || event.altKey) return;
      if (event.key === 'j') setActive((i) => Math.min(items.length - 1, i + 1));
      else if (event.key === 'k') setActive((i) => Math.max(0, i - 1));
      else if (event.key === 'Enter' && items[active]) navigate(`/cases/${items[active].number}`);
      else if (event.key === 'x' && items[active]) toggle(items[active].id);
      else if (event.key === '/') {
        event.preventDefault();
        search.current?.focus();
      } else return;
      event.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });
  useEffect(() => {
    document.querySelector(`[data-row="${active}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [active]);

  function setFilter(name: string, value: string) {
    const next = new URLSearchParams(window.location.search);
    if (value) next.set(name, value);
    else next.delete(name);
    const text = next.toString();
    navigate(`/cases${text ? `?${text}` : ''}`);
  }
  function toggle(id: string) {
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }
  async function bulk(what: 'assign' | 'close') {
    const ids = [...selected];
    const results = await Promise.allSettled(
      ids.map((id) =>
        what === 'assign'
          ? api(`/api/v1/cases/${id}/assign`, { method: 'POST', body: { assignee: assignee.trim() || null } })
          : api(`/api/v1/cases/${id}/close`, { method: 'POST', body: { resolution } }),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected').length;
    setNotice(`${what === 'assign' ? 'Assigned' : 'Closed'} ${ids.length - failed} of ${ids.length} case(s)${failed ? `; ${failed} refused` : ''}.`);
    setSelected(new Set());
    await load();
  }
  const onSearch = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setFilter('q', String(new FormData(event.currentTarget).get('q') ?? '').trim());
  };

  return (
    <section className="queue" data-testid="case-queue">
      <div className="toolbar">
        <h1>Cases</h1>
        {fresh > 0 && (
          <button
            type="button"
            className="new-cases"
            data-testid="new-cases"
            onClick={() => {
              setFresh(0);
              if (cursor === undefined) load();
              else setCursors([undefined]);
            }}
          >
            {fresh} new case{fresh === 1 ? '' : 's'} — show
          </button>
        )}
        <form onSubmit={onSearch} className="search" aria-label="Search cases">
          <input
            ref={search}
            name="q"
            type="search"
            placeholder="Search titles and descriptions  ( / )"
            defaultValue={query.get('q') ?? ''}
            key={query.get('q') ?? ''}
          />
        </form>
      </div>
      <div className="filters">
        <select aria-label="Status" value={query.get('status') ?? ''} onChange={(e) => setFilter('status', e.target.value)}>
          <option value="">Any status</option>
          <option value="new,acknowledged,in_progress,contained">Open</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.replace('_', ' ')}
            </option>
          ))}
        </select>
        <select aria-label="Severity" value={query.get('severity') ?? ''} onChange={(e) => setFilter('severity', e.target.value)}>
          <option value="">Any severity</option>
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <select aria-label="Phase" value={query.get('phase') ?? ''} onChange={(e) => setFilter('phase', e.target.value)}>
          <option value="">Any phase</option>
          {PHASES.map(([value, text]) => (
            <option key={value} value={value}>
              {text}
            </option>
          ))}
        </select>
        {(['assignee', 'tag', 'technique'] as const).map((name) => (
          <input
            key={`${name}-${query.get(name) ?? ''}`}
            aria-label={name}
            placeholder={name === 'technique' ? 'ATT&CK technique' : name}
            defaultValue={query.get(name) ?? ''}
            onKeyDown={(e) => {
              if (e.key === 'Enter') setFilter(name, e.currentTarget.value.trim());
            }}
            onBlur={(e) => {
              if (e.currentTarget.value.trim() !== (query.get(name) ?? '')) setFilter(name, e.currentTarget.value.trim());
            }}
          />
        ))}
      </div>
      {selected.size > 0 && (can(me, 'cases:assign') || can(me, 'cases:close')) && (
        <div className="bulk" data-testid="bulk-bar">
          <strong>{selected.size} selected</strong>
          {can(me, 'cases:assign') && (
            <>
              <input aria-label="Assign to" placeholder="assignee (empty: unassign)" value={assignee} onChange={(e) => setAssignee(e.target.value)} />
              <button type="button" onClick={() => bulk('assign')}>
                Assign
              </button>
            </>
          )}
          {can(me, 'cases:close') && (
            <>
              <select aria-label="Resolution" value={resolution} onChange={(e) => setResolution(e.target.value)}>
                {RESOLUTIONS.map((r) => (
                  <option key={r} value={r}>
                    {r.replace('_', ' ')}
                  </option>
                ))}
              </select>
              <button type="button" onClick={() => bulk('close')}>
                Close
              </button>
            </>
          )}
        </div>
      )}
      {notice && <p className="notice">{notice}</p>}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <table className="cases">
        <thead>
          <tr>
            <th />
            <th>#</th>
            <th>Severity</th>
            <th>Title</th>
            <th>Status</th>
            <th>Assignee</th>
            <th>SLA</th>
            <th>Tags</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {items.map((c, i) => (
            <tr key={c.id} data-row={i} data-testid="case-row" className={i === active ? 'active' : undefined} onClick={() => setActive(i)}>
              <td>
                <input type="checkbox" aria-label={`Select case ${c.number}`} checked={selected.has(c.id)} onChange={() => toggle(c.id)} />
              </td>
              <td>{c.number}</td>
              <td>
                <SeverityChip severity={c.severity} />
              </td>
              <td className="title">
                <Link to={`/cases/${c.number}`}>{c.title}</Link>
              </td>
              <td>
                <StatusChip status={c.status} />
              </td>
              <td>{c.assignee ?? <span className="muted">unassigned</span>}</td>
              <td>
                <SlaBadge sla={c.sla} />
              </td>
              <td className="tags">
                {c.tags.slice(0, 3).map((t) => (
                  <span key={t} className="tag">
                    {t}
                  </span>
                ))}
              </td>
              <td title={c.created_at}>{ago(c.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && items.length === 0 && <p className="muted">No cases match.</p>}
      <div className="pager">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          ← Newer
        </button>
        <span data-testid="page-number">Page {cursors.length}</span>
        <button type="button" disabled={!page?.next_cursor} onClick={() => page?.next_cursor && setCursors((c) => [...c, page.next_cursor ?? undefined])}>
          Older →
        </button>
        <span className="muted keys">j/k move · Enter open · x select · / search</span>
      </div>
    </section>
  );
}
