import { Fragment, useEffect, useState } from 'react';
import { api } from '../api.ts';

/**
 * An email case's message, from the analysis `riposte phish analyze --json` writes (stored on the case as an
 * evidence file with content type `application/vnd.riposte.email-analysis+json`, or named `*.email-analysis.json`).
 * Everything in it came from the attacker: it is shown as text only. Links are defanged and never
 * clickable; an HTML body is never rendered — only its text, with tags removed, is shown.
 */
export const EMAIL_ANALYSIS_TYPE = 'application/vnd.riposte.email-analysis+json';

interface Hop {
  index: number;
  from: string | null;
  ip: string | null;
  by: string | null;
  with: string | null;
  timestamp: string | null;
  delaySeconds: number | null;
  flags: string[];
}
interface Attachment {
  filename: string;
  path: string;
  declaredType: string;
  detectedType: string;
  size: number;
  sha256: string;
  sha1?: string;
  md5?: string;
  findings: Array<{ code: string; detail: string }>;
  children?: Attachment[];
}
export interface EmailAnalysis {
  location?: string;
  subject: string;
  from: string | null;
  messageId?: string | null;
  date?: string | null;
  verdict: string;
  score?: number;
  reasons?: string[];
  techniques?: string[];
  auth?: { spf: string; dkim: string; dmarc: string; arc: string; source?: Record<string, string> };
  hops?: Hop[];
  attachments?: Attachment[];
  links?: Array<{ url: string; source: string; displayed?: string; attachment?: string }>;
  /** Optional: the message's headers in order, when the producer kept them. */
  headers?: Array<{ name: string; value: string }>;
  /** Optional: the plain-text body; else the HTML body's text is shown (tags removed, never rendered). */
  text?: string;
  html?: string;
}
interface ReportAnalysis {
  reporter: { from: string | null; subject: string; category: string | null } | null;
  analyses: EmailAnalysis[];
}

export function isEmailAnalysisEvidence(e: { name: string; content_type: string }): boolean {
  return e.content_type.split(';')[0]?.trim().toLowerCase() === EMAIL_ANALYSIS_TYPE || /\.email-analysis\.json$/i.test(e.name);
}

/**
 * `https://evil.example/x` → `hxxps://evil[.]example/x` (the analyzer's own style): copyable for analysis,
 * useless as a link. Already-defanged values (the analyzer defangs what it reports) are left as they are;
 * any other scheme (javascript:, data:, file:) gets its colon bracketed.
 */
export function defang(url: string): string {
  if (/^(hxxps?|fxp):\/\//i.test(url)) return url;
  if (/^(https?|ftp):\/\//i.test(url))
    return url
      .replace(/^http/i, 'hxxp')
      .replace(/^ftp/i, 'fxp')
      .replace(/^([a-z]+:\/\/[^/?#]*)/i, (authority) => authority.replace(/\./g, '[.]'));
  return url.replace(/^([a-z][a-z0-9+.-]*):/i, '$1[:]');
}

/** The text of an HTML body: scripts and styles dropped, tags removed, a few entities decoded — as plain text. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head|template|noscript)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<br\s*\/?>|<\/(p|div|li|tr|h[1-6])\s*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&#39;|&apos;/gi, "'")
    .replace(/&amp;/gi, '&')
    .replace(/[ \t]+/g, ' ')
    .replace(/\n\s*\n\s*\n+/g, '\n\n')
    .trim();
}

/** Control characters (bidi overrides, NUL, zero-width…) that could disguise text are shown as visible escapes. */
function invisible(code: number): boolean {
  return (
    (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) ||
    code === 0x7f ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

function clean(text: string): string {
  let out = '';
  for (const c of text) {
    const code = c.codePointAt(0) ?? 0;
    out += invisible(code) ? `\\u${code.toString(16).padStart(4, '0')}` : c;
  }
  return out;
}

function AuthChip(props: { name: string; result: string; source?: string | undefined }) {
  const good = props.result === 'pass';
  const bad = ['fail', 'softfail', 'permerror'].includes(props.result);
  return (
    <span className={`chip ${good ? 'verdict-benign' : bad ? 'verdict-malicious' : 'verdict-unknown'}`} data-testid={`auth-${props.name}`}>
      {props.name.toUpperCase()} {props.result}
      {props.source && props.source !== 'none' ? ` (${props.source})` : ''}
    </span>
  );
}

function AttachmentRows(props: { items: Attachment[]; depth: number }) {
  return (
    <>
      {props.items.map((a) => (
        <Fragment key={`${a.path}:${a.sha256}`}>
          <tr data-testid="email-attachment">
            <td className="mono" style={{ paddingLeft: 8 + props.depth * 16 }}>
              {clean(a.path || a.filename)}
            </td>
            <td className="mono">
              {clean(a.declaredType)}
              {a.detectedType && a.detectedType !== a.declaredType ? ` → ${clean(a.detectedType)}` : ''}
            </td>
            <td>{a.size.toLocaleString()} B</td>
            <td className="mono hash" title={`SHA-1 ${a.sha1 ?? '—'}\nMD5 ${a.md5 ?? '—'}`}>
              {a.sha256}
            </td>
            <td>{a.findings.map((f) => `${f.code}: ${clean(f.detail)}`).join('; ') || '—'}</td>
          </tr>
          {a.children && a.children.length > 0 && <AttachmentRows items={a.children} depth={props.depth + 1} />}
        </Fragment>
      ))}
    </>
  );
}

function OneEmail(props: { email: EmailAnalysis }) {
  const e = props.email;
  const body = e.text ?? (e.html ? htmlToText(e.html) : undefined);
  return (
    <div className="email" data-testid="email-view">
      <table className="kv">
        <tbody>
          <tr>
            <th>Subject</th>
            <td data-testid="email-subject">{clean(e.subject)}</td>
          </tr>
          <tr>
            <th>From</th>
            <td className="mono" data-testid="email-from">
              {clean(e.from ?? '—')}
            </td>
          </tr>
          {e.date && (
            <tr>
              <th>Date</th>
              <td>{clean(e.date)}</td>
            </tr>
          )}
          {e.messageId && (
            <tr>
              <th>Message-ID</th>
              <td className="mono">{clean(e.messageId)}</td>
            </tr>
          )}
          <tr>
            <th>Verdict</th>
            <td>
              <span className={`chip verdict-${e.verdict}`}>{e.verdict}</span> {e.score !== undefined ? <span className="muted">score {e.score}</span> : null}
              {e.reasons && e.reasons.length > 0 && (
                <ul className="reasons">
                  {e.reasons.map((r) => (
                    <li key={r}>{clean(r)}</li>
                  ))}
                </ul>
              )}
            </td>
          </tr>
          {e.auth && (
            <tr>
              <th>Authentication</th>
              <td>
                {(['spf', 'dkim', 'dmarc', 'arc'] as const).map((m) => (
                  <AuthChip key={m} name={m} result={e.auth?.[m] ?? 'unknown'} source={e.auth?.source?.[m]} />
                ))}
              </td>
            </tr>
          )}
        </tbody>
      </table>

      {e.headers && e.headers.length > 0 && (
        <details>
          <summary>Headers ({e.headers.length})</summary>
          <table className="headers" data-testid="email-headers">
            <tbody>
              {e.headers.map((h, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: headers repeat; their order is their identity
                <tr key={i}>
                  <th className="mono">{clean(h.name)}</th>
                  <td className="mono">{clean(h.value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}

      {e.hops && e.hops.length > 0 && (
        <>
          <h3>Received hops</h3>
          <table data-testid="email-hops">
            <thead>
              <tr>
                <th>#</th>
                <th>From</th>
                <th>IP</th>
                <th>By</th>
                <th>With</th>
                <th>Time (UTC)</th>
                <th>Delay</th>
                <th>Flags</th>
              </tr>
            </thead>
            <tbody>
              {e.hops.map((h) => (
                <tr key={h.index} data-testid="email-hop">
                  <td>{h.index}</td>
                  <td className="mono">{clean(h.from ?? '—')}</td>
                  <td className="mono">{h.ip ?? '—'}</td>
                  <td className="mono">{clean(h.by ?? '—')}</td>
                  <td>{clean(h.with ?? '—')}</td>
                  <td>{h.timestamp ?? '—'}</td>
                  <td>{h.delaySeconds === null ? '—' : `${h.delaySeconds}s`}</td>
                  <td>
                    {h.flags.map((f) => (
                      <span key={f} className="chip verdict-suspicious">
                        {f}
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}

      {e.links && e.links.length > 0 && (
        <>
          <h3>Links (defanged)</h3>
          <table data-testid="email-links">
            <thead>
              <tr>
                <th>URL</th>
                <th>Shown as</th>
                <th>Found in</th>
              </tr>
            </thead>
            <tbody>
              {e.links.map((l, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: the same URL may appear in several places
                <tr key={i} data-testid="email-link">
                  <td className="mono">
                    <code>{defang(clean(l.url))}</code>
                  </td>
                  <td>{l.displayed ? clean(l.displayed) : '—'}</td>
                  <td>
                    {l.source}
                    {l.attachment ? ` (${clean(l.attachment)})` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}

      {e.attachments && e.attachments.length > 0 && (
        <>
          <h3>Attachments</h3>
          <table data-testid="email-attachments">
            <thead>
              <tr>
                <th>File</th>
                <th>Type (declared → detected)</th>
                <th>Size</th>
                <th>SHA-256</th>
                <th>Findings</th>
              </tr>
            </thead>
            <tbody>
              <AttachmentRows items={e.attachments} depth={0} />
            </tbody>
          </table>
        </>
      )}

      {body !== undefined && (
        <>
          <h3>Body (text only{e.text === undefined ? '; HTML not rendered' : ''})</h3>
          <pre className="email-body" data-testid="email-body">
            {clean(body)}
          </pre>
        </>
      )}
    </div>
  );
}

export function EmailPanel(props: { caseId: string; evidence: Array<{ id: string; name: string; content_type: string }> }) {
  const source = props.evidence.find(isEmailAnalysisEvidence);
  const [report, setReport] = useState<ReportAnalysis>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (!source) return;
    api<unknown>(`/api/v1/cases/${props.caseId}/evidence/${source.id}`)
      .then((data) => {
        // Either analyzeReport's shape ({reporter, analyses}) or a `phish analyze --json` line: the primary
        // message's fields at the top, and `messages` when the file carried several (a report wrapper).
        const d = data as Partial<ReportAnalysis> & Partial<EmailAnalysis> & { messages?: EmailAnalysis[] };
        if (Array.isArray(d.analyses)) setReport({ reporter: d.reporter ?? null, analyses: d.analyses });
        else if (Array.isArray(d.messages) && d.messages.length > 0) setReport({ reporter: d.reporter ?? null, analyses: d.messages });
        else if (typeof d.subject === 'string') setReport({ reporter: null, analyses: [d as EmailAnalysis] });
        else setError('The email analysis file has an unknown shape.');
      })
      .catch((e) => setError((e as Error).message));
  }, [props.caseId, source]);
  if (!source) return null;
  return (
    <section data-testid="email-panel">
      <h2>Email</h2>
      {error && <p className="error">{error}</p>}
      {report?.reporter && (
        <p className="muted" data-testid="email-reporter">
          Reported by {clean(report.reporter.from ?? 'unknown')} as {report.reporter.category ?? 'unspecified'}: “{clean(report.reporter.subject)}”
        </p>
      )}
      {report?.analyses.map((email, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a report may wrap the same message twice
        <OneEmail key={i} email={email} />
      ))}
    </section>
  );
}
