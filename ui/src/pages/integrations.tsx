import { useEffect, useState } from 'react';
import { api } from '../api.ts';
import { maskSecrets } from '../format.tsx';

interface Instance {
  name: string;
  integration: string;
  title: string;
  config: Record<string, unknown>;
  secrets: Array<{ name: string; set: boolean; description: string }>;
  actions: string[];
}

/** Integration instances: configuration and which secrets are set. Secret values are write-only and never returned. */
export function IntegrationsPage() {
  const [items, setItems] = useState<Instance[]>([]);
  useEffect(() => {
    api<{ items: Instance[] }>('/api/v1/integrations')
      .then((r) => setItems(r.items))
      .catch(() => {});
  }, []);
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
                    {s.name}: <span className="mono">{s.set ? '•••••• (set)' : 'not set'}</span>
                  </div>
                ))}
              </td>
              <td className="mono">{i.actions.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
