import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { playbookGraph } from './routes/run-graph.ts';
import { UI_CONTENT_SECURITY_POLICY, uiStatic } from './ui-static.ts';

describe('serving the built UI', () => {
  const parent = mkdtempSync(join(tmpdir(), 'riposte-ui-static-'));
  const dist = join(parent, 'dist');
  let app: FastifyInstance;

  before(async () => {
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(join(dist, 'assets', 'app-1234.js'), 'console.log(1)');
    writeFileSync(join(parent, 'secret.txt'), 'outside the build directory');
    const ui = uiStatic(dist);
    app = Fastify();
    app.get('/api/v1/thing', async () => ({ ok: true }));
    app.setNotFoundHandler((request, reply) => {
      if (ui.serve(request, reply)) return reply;
      return reply.code(404).send({ code: 'not_found' });
    });
    await app.ready();
  });
  after(async () => {
    await app.close();
    rmSync(parent, { recursive: true, force: true });
  });

  test('index.html for UI routes, with the CSP and no caching', async () => {
    for (const url of ['/', '/cases', '/cases/12', '/runs/0190-abc']) {
      const res = await app.inject({ url, headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
      assert.equal(res.statusCode, 200, url);
      assert.match(res.body, /id="root"/);
      assert.equal(res.headers['content-security-policy'], UI_CONTENT_SECURITY_POLICY);
      assert.equal(res.headers['cache-control'], 'no-cache');
      assert.equal(res.headers['x-frame-options'], 'DENY');
    }
    assert.doesNotMatch(UI_CONTENT_SECURITY_POLICY, /unsafe/);
  });

  test('hashed assets are immutable; a missing asset or API path is a 404, not index.html', async () => {
    const asset = await app.inject({ url: '/assets/app-1234.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(String(asset.headers['content-type']), /javascript/);
    assert.match(String(asset.headers['cache-control']), /immutable/);
    assert.equal((await app.inject({ url: '/assets/app-9999.js' })).statusCode, 404);
    assert.equal((await app.inject({ url: '/api/v1/nothing' })).statusCode, 404);
    assert.equal((await app.inject({ url: '/favicon.ico' })).statusCode, 404);
    assert.equal((await app.inject({ method: 'POST', url: '/cases' })).statusCode, 404);
    const html = { accept: 'text/html' };
    assert.equal((await app.inject({ url: '/taxii2/collections/x/', headers: html })).statusCode, 404, 'TAXII paths are never the UI');
    assert.equal((await app.inject({ url: '/cases/12', headers: { accept: 'application/json' } })).statusCode, 404, 'only browsers get index.html');
  });

  test('paths that climb out of the build directory are refused', async () => {
    for (const url of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/%00index.html', '/%E0%A4%A']) {
      const res = await app.inject({ url, headers: { accept: 'text/html' } });
      assert.notEqual(res.body, 'outside the build directory', url);
      assert.ok(res.statusCode === 404 || res.statusCode === 400 || (res.statusCode === 200 && /id="root"/.test(res.body)), `${url} → ${res.statusCode}`);
    }
  });
});

describe('run graph', () => {
  test('sequence, parallel fan-out and fan-in, if and switch branches', () => {
    const graph = playbookGraph({
      steps: [
        {
          id: 'intel',
          parallel: [
            { id: 'vt', action: 'virustotal.ip_report' },
            { id: 'abuse', action: 'abuseipdb.check' },
          ],
        },
        { id: 'verdict', action: 'intel.verdict' },
        // biome-ignore lint/suspicious/noThenProperty: an if-step's branch is called `then` in playbooks
        { id: 'gate', if: '{{ x }}', then: [{ id: 'block', action: 'fw.block' }], else: [{ id: 'note', action: 'core.log' }] },
        { id: 'route', switch: '{{ y }}', cases: { high: [{ id: 'page', action: 'pager.page' }] } },
        { id: 'done', succeed: true },
      ],
    });
    assert.deepEqual(
      graph.nodes.map((n) => `${n.key}:${n.kind}`),
      [
        'intel:parallel',
        'vt:action',
        'abuse:action',
        'verdict:action',
        'gate:if',
        'block:action',
        'note:action',
        'route:switch',
        'page:action',
        'done:succeed',
      ],
    );
    const edges = graph.edges.map((e) => `${e.from}>${e.to}${e.label ? `(${e.label})` : ''}`);
    assert.deepEqual(edges, [
      'intel>vt',
      'intel>abuse',
      'vt>verdict',
      'abuse>verdict',
      'verdict>gate',
      'gate>block(then)',
      'gate>note(else)',
      'block>route',
      'note>route',
      'route>page(high)',
      'page>done',
      'route>done',
    ]);
    assert.deepEqual(playbookGraph(null), { nodes: [], edges: [] });
  });
});
