import { useEffect, useState } from 'react';
import { api, type CaseItem, type Observable, type Page, type Run } from '../api.ts';

interface Metrics {
  cases: number;
  acknowledged: number;
  contained: number;
  resolved: number;
  mtta_minutes: number | null;
  mttc_minutes: number | null;
  mttr_minutes: number | null;
  analyst_minutes_saved: number;
}

const minutes = (m: number | null) => (m === null ? '—' : m < 120 ? `${Math.round(m)} min` : `${(m / 60).toFixed(1)} h`);

function Bars(props: { data: Array<[string, number]>; title: string }) {
  const max = Math.max(1, ...props.data.map(([, v]) => v));
  const width = 28;
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      <svg viewBox={`0 0 ${Math.max(1, props.data.length) * width} 130`} role="img" aria-label={props.title}>
        <title>{props.title}</title>
        {props.data.map(([day, value], i) => {
          const h = (value / max) * 100;
          return (
            <g key={day}>
              <rect x={i * width + 4} y={105 - h} width={width - 8} height={h} className="bar">
                <title>{`${day}: ${value}`}</title>
              </rect>
              <text x={i * width + width / 2} y={122} textAnchor="middle" className="axis">
                {day.slice(8)}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

function Donut(props: { data: Array<[string, number]>; title: string }) {
  const total = props.data.reduce((sum, [, v]) => sum + v, 0) || 1;
  let angle = 0;
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      {props.data.length === 0 && <p className="muted">No verdicts yet.</p>}
      <svg viewBox="0 0 120 120" role="img" aria-label={props.title}>
        <title>{props.title}</title>
        {props.data.length === 1 && <circle cx="60" cy="60" r="50" className={`slice verdict-${props.data[0]?.[0]}`} />}
        {props.data.length > 1 &&
          props.data.map(([name, value]) => {
            const start = angle;
            angle += (value / total) * Math.PI * 2;
            const large = angle - start > Math.PI ? 1 : 0;
            const [x1, y1, x2, y2] = [60 + 50 * Math.sin(start), 60 - 50 * Math.cos(start), 60 + 50 * Math.sin(angle - 1e-6), 60 - 50 * Math.cos(angle - 1e-6)];
            return <path key={name} d={`M60 60 L${x1} ${y1} A50 50 0 ${large} 1 ${x2} ${y2} Z`} className={`slice verdict-${name}`} />;
          })}
        <circle cx="60" cy="60" r="28" className="hole" />
      </svg>
      <ul className="legend">
        {props.data.map(([name, value]) => (
          <li key={name}>
            <span className={`swatch verdict-${name}`} /> {name}: {value}
          </li>
        ))}
      </ul>
    </figure>
  );
}

/** Response times over everything the store knows, cases per day over the newest 1,000, and the verdict mix of recent IPs. */
export function DashboardPage() {
  const [metrics, setMetrics] = useState<Metrics>();
  const [perDay, setPerDay] = useState<Array<[string, number]>>([]);
  const [verdicts, setVerdicts] = useState<Array<[string, number]>>([]);
  useEffect(() => {
    api<Metrics>('/api/v1/cases/metrics')
      .then(setMetrics)
      .catch(() => {});
    (async () => {
      const counts = new Map<string, number>();
      let cursor: string | undefined;
      for (let page = 0; page < 5; page++) {
        const r = await api<Page<CaseItem>>('/api/v1/cases', { query: { limit: 200, cursor } });
        for (const c of r.items) counts.set(c.created_at.slice(0, 10), (counts.get(c.created_at.slice(0, 10)) ?? 0) + 1);
        if (!r.next_cursor) break;
        cursor = r.next_cursor;
      }
      setPerDay([...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).slice(-14));
    })().catch(() => {});
    // Verdicts live on observables once recorded there, and in the outputs of the enrichment runs.
    Promise.all([
      api<Page<Observable>>('/api/v1/observables', { query: { type: 'ipv4', limit: 200 } }).catch(() => ({ items: [] as Observable[], next_cursor: null })),
      api<Page<Run>>('/api/v1/runs', { query: { limit: 200 } }).catch(() => ({ items: [] as Run[], next_cursor: null })),
    ]).then(([observables, runs]) => {
      const counts = new Map<string, number>();
      const add = (verdict: unknown) => {
        if (typeof verdict === 'string' && verdict) counts.set(verdict, (counts.get(verdict) ?? 0) + 1);
      };
      for (const o of observables.items) add(o.verdict);
      for (const r of runs.items) add((r.output as { verdict?: unknown } | null)?.verdict);
      setVerdicts([...counts.entries()]);
    });
  }, []);
  return (
    <section className="dashboard">
      <h1>Dashboard</h1>
      {metrics && (
        <div className="kpis" data-testid="kpis">
          <div>
            <span>MTTA</span>
            <strong>{minutes(metrics.mtta_minutes)}</strong>
          </div>
          <div>
            <span>MTTC</span>
            <strong>{minutes(metrics.mttc_minutes)}</strong>
          </div>
          <div>
            <span>MTTR</span>
            <strong>{minutes(metrics.mttr_minutes)}</strong>
          </div>
          <div>
            <span>Cases</span>
            <strong>{metrics.cases}</strong>
          </div>
          <div>
            <span>Analyst hours saved</span>
            <strong>{(metrics.analyst_minutes_saved / 60).toFixed(1)}</strong>
          </div>
        </div>
      )}
      <div className="charts">
        <Bars data={perDay} title="Cases per day (newest 1,000 cases)" />
        <Donut data={verdicts} title="Verdict mix (recent IPs)" />
      </div>
    </section>
  );
}
