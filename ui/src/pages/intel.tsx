import { useEffect, useState } from 'react';
import { api, can, type Me } from '../api.ts';

/**
 * Threat intel: ATT&CK coverage as a tactic grid (which techniques cases were seen with, which playbooks
 * detect or respond to them) and the TAXII 2.1 server's collections with their indicators. Indicator
 * names and patterns come from feeds and are shown as text.
 */
interface CoverageTechnique {
  id: string;
  name: string;
  cases: number;
  detected_by: string[];
  responded_by: string[];
}
interface Coverage {
  tactics: Array<{ id: string; shortname: string; name: string; techniques: CoverageTechnique[] }>;
  totals: { techniques_on_cases: number; techniques_detected: number; techniques_responded: number; techniques_in_catalog: number };
}
interface Collection {
  id: string;
  title: string;
  description?: string;
  can_read: boolean;
  can_write: boolean;
}
interface StixObject {
  type: string;
  id: string;
  name?: string;
  pattern?: string;
  pattern_type?: string;
  valid_from?: string;
  valid_until?: string;
  labels?: string[];
  indicator_types?: string[];
  confidence?: number;
  modified?: string;
}

const TAXII_ACCEPT = 'application/taxii+json;version=2.1';

async function taxii<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { accept: TAXII_ACCEPT }, credentials: 'same-origin' });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  return (await response.json()) as T;
}

function coverageClass(t: CoverageTechnique): string {
  if (t.responded_by.length > 0 && t.detected_by.length > 0) return 'cov-full';
  if (t.responded_by.length > 0 || t.detected_by.length > 0) return 'cov-partial';
  return 'cov-cases';
}

function CoverageGrid() {
  const [coverage, setCoverage] = useState<Coverage>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api<Coverage>('/api/v1/attack/coverage')
      .then(setCoverage)
      .catch((e) => setError((e as Error).message));
  }, []);
  if (error) return <p className="error">{error}</p>;
  if (!coverage) return <p className="loading">Loading coverage…</p>;
  const { totals } = coverage;
  return (
    <section data-testid="attack-coverage">
      <h2>ATT&amp;CK coverage</h2>
      <p className="muted">
        {totals.techniques_on_cases} techniques seen on cases · {totals.techniques_detected} detected and {totals.techniques_responded} answered by playbooks ·{' '}
        {totals.techniques_in_catalog} in the catalog. <span className="chip cov-full">detect + respond</span>{' '}
        <span className="chip cov-partial">detect or respond</span> <span className="chip cov-cases">seen, no playbook</span>
      </p>
      <div className="tactic-grid">
        {coverage.tactics.map((tactic) => (
          <div key={tactic.id} className="tactic" data-testid="tactic">
            <h3 title={tactic.id}>{tactic.name}</h3>
            {tactic.techniques.length === 0 && <div className="muted">—</div>}
            {tactic.techniques.map((t) => (
              <div
                key={t.id}
                className={`technique ${coverageClass(t)}`}
                data-testid="technique-cell"
                title={`${t.id} ${t.name}\ncases: ${t.cases}\ndetected by: ${t.detected_by.join(', ') || '—'}\nanswered by: ${t.responded_by.join(', ') || '—'}`}
              >
                <span className="mono">{t.id}</span> {t.name}
                {t.cases > 0 && <span className="badge">{t.cases}</span>}
              </div>
            ))}
          </div>
        ))}
      </div>
    </section>
  );
}

function Collections() {
  const [collections, setCollections] = useState<Array<Collection & { root: string }>>();
  const [selected, setSelected] = useState<string>();
  const [objects, setObjects] = useState<StixObject[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string>();
  useEffect(() => {
    (async () => {
      const discovery = await taxii<{ api_roots?: string[] }>('/taxii2/');
      const all: Array<Collection & { root: string }> = [];
      for (const root of discovery.api_roots ?? []) {
        // Discovery names roots by absolute URL; the UI only ever talks to its own origin.
        const path = new URL(root, window.location.origin).pathname.replace(/\/?$/, '/');
        const list = await taxii<{ collections?: Collection[] }>(`${path}collections/`).catch(() => ({ collections: [] }));
        for (const c of list.collections ?? []) all.push({ ...c, root: path });
      }
      setCollections(all);
      if (all[0]) setSelected(`${all[0].root}collections/${all[0].id}/`);
    })().catch((e) => setError((e as Error).message));
  }, []);
  useEffect(() => {
    if (!selected) return;
    taxii<{ objects?: StixObject[]; more?: boolean }>(`${selected}objects/?limit=100&match[type]=indicator`)
      .then((r) => {
        setObjects(r.objects ?? []);
        setMore(r.more ?? false);
      })
      .catch((e) => setError((e as Error).message));
  }, [selected]);
  return (
    <section data-testid="taxii-collections">
      <h2>Indicators (TAXII collections)</h2>
      {error && <p className="error">{error}</p>}
      {collections && collections.length === 0 && <p className="muted">No collections configured (intel.taxii.collections).</p>}
      {collections && collections.length > 0 && (
        <select aria-label="Collection" value={selected} onChange={(e) => setSelected(e.target.value)}>
          {collections.map((c) => (
            <option key={`${c.root}${c.id}`} value={`${c.root}collections/${c.id}/`}>
              {c.title} ({c.root.replace(/^\/taxii2\//, '').replace(/\/$/, '')}){c.can_write ? '' : ' · read only'}
            </option>
          ))}
        </select>
      )}
      <table>
        <thead>
          <tr>
            <th>Indicator</th>
            <th>Pattern</th>
            <th>Types</th>
            <th>Valid</th>
            <th>Confidence</th>
          </tr>
        </thead>
        <tbody>
          {objects.map((o) => (
            <tr key={o.id} data-testid="indicator-row">
              <td>{o.name ?? o.id}</td>
              <td className="mono">{o.pattern ?? '—'}</td>
              <td>{(o.indicator_types ?? o.labels ?? []).join(', ') || '—'}</td>
              <td>
                {o.valid_from?.slice(0, 10) ?? '—'}
                {o.valid_until ? ` → ${o.valid_until.slice(0, 10)}` : ''}
              </td>
              <td>{o.confidence ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {selected && objects.length === 0 && <p className="muted">No indicators in this collection.</p>}
      {more && <p className="muted">Showing the first 100; use a TAXII client for the rest.</p>}
    </section>
  );
}

export function IntelPage(props: { me: Me }) {
  return (
    <section data-testid="intel">
      <h1>Threat intel</h1>
      <CoverageGrid />
      {can(props.me, 'taxii:read') && <Collections />}
    </section>
  );
}
