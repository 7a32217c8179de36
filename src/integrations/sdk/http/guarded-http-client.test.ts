import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RiposteError } from '../../../core/index.ts';
import { createGuardedHttpClient, embeddedIpv4, isBlockedAddress } from './index.ts';

let server: Server;
let base: string;
let port: number;
let connections = 0;

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/slow') {
      setTimeout(() => res.end('{}'), 150);
      return;
    }
    if (req.url === '/redirect-to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    } else if (req.url === '/redirect-local') {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/hello` }).end();
    } else if (req.url === '/big') {
      res.end('x'.repeat(5000));
    } else {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ hello: 'world', method: req.method }));
    }
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
after(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);

const refusedWith = (code: string) => (error: unknown) => {
  assert.ok(error instanceof RiposteError, String(error));
  assert.equal(error.code, code);
  return true;
};

describe('address guard', () => {
  test('blocks private, loopback, link-local, CGNAT, multicast, metadata and mapped IPv6 forms', () => {
    for (const address of [
      '127.0.0.1',
      '10.2.3.4',
      '172.16.9.9',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '224.0.0.1',
      '0.0.0.0',
      '::1',
      'fd00:ec2::254',
      'fe80::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:169.254.169.254',
      '64:ff9b::a9fe:a9fe',
      '2002:7f00:1::1',
      '::',
    ]) {
      assert.equal(isBlockedAddress(address), true, address);
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isBlockedAddress(address), false, address);
    assert.equal(embeddedIpv4('::ffff:a9fe:a9fe'), '169.254.169.254');
  });
});

describe('guarded HTTP client', () => {
  test('loopback is refused when not allow-listed', async () => {
    const client = createGuardedHttpClient();
    await assert.rejects(client.request({ url: `${base}/hello` }), refusedWith('http.blocked_address'));
    await assert.rejects(client.request({ url: `http://[::ffff:127.0.0.1]:${port}/hello` }), refusedWith('http.blocked_address'));
  });

  test('an allow-listed loopback server answers', async () => {
    const client = createGuardedHttpClient({ allow: ['127.0.0.1/32'] });
    const response = await client.request({ url: `${base}/hello` });
    assert.equal(response.status, 200);
    assert.deepEqual(response.json(), { hello: 'world', method: 'GET' });
  });

  test('every resolved address is checked and the connection is pinned to the checked one', async () => {
    // A rebinding resolver: first a public address, then loopback. The guard must check what it connects to.
    const mixed = createGuardedHttpClient({
      resolve: async () => [
        { address: '8.8.8.8', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
    });
    await assert.rejects(mixed.request({ url: `http://rebind.example:${port}/hello` }), refusedWith('http.blocked_address'));
    let calls = 0;
    const rebinding = createGuardedHttpClient({
      allow: ['rebind.example'],
      resolve: async () => (calls++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.9.9.9', family: 4 }]),
    });
    const response = await rebinding.request({ url: `http://rebind.example:${port}/hello` });
    assert.equal(response.status, 200, 'connected to the address that was checked');
    assert.equal(calls, 1, 'resolved once; the socket did not resolve again');
  });

  test('redirects are checked hop by hop', async () => {
    const client = createGuardedHttpClient({ allow: ['127.0.0.1'] });
    await assert.rejects(client.request({ url: `${base}/redirect-to-metadata` }), refusedWith('http.blocked_address'));
    const followed = await client.request({ url: `${base}/redirect-local` });
    assert.equal(followed.url, `${base}/hello`);
  });

  test('response size is capped', async () => {
    const client = createGuardedHttpClient({ allow: ['127.0.0.1'], maxResponseBytes: 1000 });
    await assert.rejects(client.request({ url: `${base}/big` }), refusedWith('http.response_too_large'));
  });

  test('only http(s) without embedded credentials', async () => {
    const client = createGuardedHttpClient();
    await assert.rejects(client.request({ url: 'file:///etc/passwd' }), refusedWith('http.invalid_url'));
    await assert.rejects(client.request({ url: 'http://user:pw@example.com/' }), refusedWith('http.invalid_url'));
  });
});

describe('keep-alive', () => {
  test('sequential requests reuse one connection; keepAlive: false opens one per request', async () => {
    const client = createGuardedHttpClient({ allow: ['127.0.0.1'] });
    const before = connections;
    for (let i = 0; i < 5; i++) assert.equal((await client.request({ url: `${base}/hello` })).status, 200);
    assert.equal(connections - before, 1, 'one TCP connection for five sequential requests');
    client.close();
    const fresh = createGuardedHttpClient({ allow: ['127.0.0.1'], keepAlive: false });
    const beforeFresh = connections;
    for (let i = 0; i < 3; i++) await fresh.request({ url: `${base}/hello` });
    assert.equal(connections - beforeFresh, 3);
    fresh.close();
  });

  test('a live connection to an allowed host does not let a refused host or literal through', async () => {
    // Both names resolve to the same loopback address; only one is allow-listed.
    const client = createGuardedHttpClient({ allow: ['good.example'], resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    assert.equal((await client.request({ url: `http://good.example:${port}/hello` })).status, 200);
    await assert.rejects(client.request({ url: `http://evil.example:${port}/hello` }), refusedWith('http.blocked_address'));
    await assert.rejects(client.request({ url: `${base}/hello` }), refusedWith('http.blocked_address'));
    await assert.rejects(client.request({ url: `http://good.example:${port}/redirect-to-metadata` }), refusedWith('http.blocked_address'));
    client.close();
  });

  test('every new connection resolves and checks again; a reused one does not need to', async () => {
    let calls = 0;
    const answers = ['127.0.0.1', '127.0.0.1', '169.254.169.254'];
    const client = createGuardedHttpClient({
      allow: ['127.0.0.1'],
      resolve: async () => [{ address: answers[Math.min(calls++, answers.length - 1)] as string, family: 4 }],
    });
    const url = `http://rebind.example:${port}`;
    await client.request({ url: `${url}/hello` });
    await client.request({ url: `${url}/hello` });
    assert.equal(calls, 1, 'the second request reused the checked connection');
    // Two at once need a second connection: it resolves again (still loopback) and is checked.
    await Promise.all([client.request({ url: `${url}/slow` }), client.request({ url: `${url}/slow` })]);
    assert.equal(calls, 2);
    // Three at once need a third: DNS now answers the metadata address, and that connection is refused.
    const results = await Promise.allSettled([0, 1, 2].map(() => client.request({ url: `${url}/slow` })));
    assert.equal(calls, 3);
    const refused = results.filter((r) => r.status === 'rejected');
    assert.equal(refused.length, 1);
    refusedWith('http.blocked_address')((refused[0] as PromiseRejectedResult).reason);
    client.close();
  });
});
