import { useEffect, useState } from 'react';
import { ApiError, api, can, type Me } from '../api.ts';
import { maskSecrets } from '../format.tsx';

interface Instance {
  name: string;
  integration: string;
  title: string;
  config: Record<string, unknown>;
  secrets: Array<{ name: string; set: boolean; description: string }>;
  actions: string[];
}

interface TestResult {
  name: string;
  ok: boolean;
  ms: number;
  action?: string;
  error?: string;
  code?: string;
}

/** Runs the integration's health check through the server (its SSRF guard, its stored secrets). */
function TestButton(props: { name: string }) {
  const [result, setResult] = useState<TestResult | { ok: false; error: string }>();
  const [busy, setBusy] = useState(false);
  const test = async () => {
    setBusy(true);
    setResult(undefined);
    try {
      setResult(await api<TestResult>(`/api/v1/integrations/${encodeURIComponent(props.name)}/test`, { method: 'POST' }));
    } catch (e) {
      setResult({ ok: false, error: e instanceof ApiError ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <button type="button" onClick={test} disabled={busy} data-testid="test-connection">
        {busy ? 'Testing…' : 'Test connection'}
      </button>
      {result && (
        <div className={result.ok ? 'test-ok' : 'test-failed'} data-testid="test-result" data-ok={result.ok ? 'true' : 'false'}>
          {result.ok ? `Connected (${'ms' in result ? Math.round(result.ms) : 0} ms)` : `Failed: ${result.error ?? 'no answer'}`}
        </div>
      )}
    </div>
  );
}

/**
 * Sets one secret: the value goes to the server once (sealed there with the master key) and is never read
 * back — the field clears and the page only learns "set".
 */
function SecretSetter(props: { instance: Instance; secret: string; onSaved: () => void }) {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  if (!open)
    return (
      <button type="button" className="link" onClick={() => setOpen(true)} data-testid={`set-secret-${props.secret}`}>
        {props.instance.secrets.find((s) => s.name === props.secret)?.set ? 'replace' : 'set'}
      </button>
    );
  const save = async () => {
    setError(undefined);
    try {
      await api(`/api/v1/integrations/${encodeURIComponent(props.instance.name)}`, {
        method: 'PUT',
        body: { integration: props.instance.integration, secrets: { [props.secret]: value } },
      });
      setValue('');
      setOpen(false);
      props.onSaved();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };
  return (
    <span className="secret-setter">
      <input
        type="password"
        autoComplete="off"
        aria-label={`New value for ${props.secret}`}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        data-testid="secret-value"
      />
      <button type="button" onClick={save} disabled={value.length === 0}>
        Save
      </button>
      <button
        type="button"
        className="link"
        onClick={() => {
          setValue('');
          setOpen(false);
        }}
      >
        Cancel
      </button>
      {error && <span className="error">{error}</span>}
    </span>
  );
}

/** Integration instances: configuration and which secrets are set. Secret values are write-only and never returned. */
export function IntegrationsPage(props: { me: Me }) {
  // The health check reads like the list does; changing secrets needs integrations:write.
  const mayTest = can(props.me, 'integrations:read');
  const mayWrite = can(props.me, 'integrations:write');
  const [items, setItems] = useState<Instance[]>([]);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    void tick;
    api<{ items: Instance[] }>('/api/v1/integrations')
      .then((r) => setItems(r.items))
      .catch(() => {});
  }, [tick]);
  return (
    <section>
      <h1>Integrations</h1>
      <table>
        <thead>
          <tr>
            <th>Instance</th>
            <th>Product</th>
            <th>Configuration</th>
            <th>Secrets</th>
            <th>Actions</th>
            {mayTest && <th>Health</th>}
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr key={i.name} data-testid="integration-row">
              <td className="mono">{i.name}</td>
              <td>{i.title}</td>
              <td className="mono">{JSON.stringify(maskSecrets(i.config))}</td>
              <td>
                {i.secrets.map((s) => (
                  <div key={s.name} title={s.description}>
                    {s.name}: <span className="mono">{s.set ? '•••••• (set)' : 'not set'}</span>{' '}
                    {mayWrite && <SecretSetter instance={i} secret={s.name} onSaved={() => setTick((n) => n + 1)} />}
                  </div>
                ))}
              </td>
              <td className="mono">{i.actions.join(', ')}</td>
              {mayTest && (
                <td>
                  <TestButton name={i.name} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
