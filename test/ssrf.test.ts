import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RiposteError } from '../src/core/index.ts';
import { createGuardedHttpClient } from '../src/integrations/sdk/index.ts';
import { recordFigure } from './campaign-figures.ts';

/**
 * SSRF campaign against the guarded client every outbound request goes through: loopback, private,
 * link-local and metadata targets written every way an attacker would write them in an alert field —
 * decimal, octal, hex and short IPv4 forms, IPv4-mapped, NAT64 and 6to4 IPv6, trailing dots, names that
 * resolve to private space — are refused before a connection is made. A listener on loopback proves it:
 * it must see no request at all.
 */
let server: Server;
let port: number;
let hits = 0;

before(async () => {
  server = createServer((_req, res) => {
    hits++;
    res.end('reached');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const refused = (error: unknown) => {
  assert.ok(error instanceof RiposteError, String(error));
  assert.match(error.code, /^http\.(blocked_address|invalid_url)$/, error.message);
  return true;
};

describe('SSRF: every spelling of an internal address is refused', () => {
  test('numeric IPv4 forms, IPv6 embeddings and metadata addresses never connect', async () => {
    const client = createGuardedHttpClient({ timeoutMs: 2000 });
    const targets = [
      `http://127.0.0.1:${port}/`,
      `http://2130706433:${port}/`, // decimal 127.0.0.1
      `http://0x7f000001:${port}/`, // hex
      `http://0177.0.0.1:${port}/`, // octal
      `http://0x7f.1:${port}/`, // short hex form
      `http://127.1:${port}/`, // short form
      `http://127.000.000.001:${port}/`,
      `http://[::1]:${port}/`,
      `http://[::ffff:127.0.0.1]:${port}/`,
      `http://[::ffff:7f00:1]:${port}/`,
      `http://[0:0:0:0:0:ffff:127.0.0.1]:${port}/`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://[64:ff9b::a9fe:a9fe]/', // NAT64 of 169.254.169.254
      'http://[2002:a9fe:a9fe::1]/', // 6to4 of 169.254.169.254
      'http://10.0.0.1/',
      'http://192.168.1.1/',
      'http://172.16.0.1/',
      'http://100.64.0.1/',
      'http://0.0.0.0/',
      `http://0:${port}/`,
      'http://[fe80::1]/',
    ];
    for (const url of targets) await assert.rejects(client.request({ url }), refused, url);
    recordFigure('security', 'ssrf_targets_refused', targets.length);
    assert.equal(hits, 0, 'no request reached the loopback listener');
  });

  test('host names resolving to internal addresses are refused, including a trailing dot and mixed answers', async () => {
    const answers: Record<string, Array<{ address: string; family: 4 | 6 }>> = {
      'localhost.': [{ address: '127.0.0.1', family: 4 }],
      'metadata.google.internal': [{ address: '169.254.169.254', family: 4 }],
      'internal.example': [{ address: '10.1.2.3', family: 4 }],
      'mixed.example': [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
      'v6only.example': [{ address: '::1', family: 6 }],
    };
    const client = createGuardedHttpClient({ timeoutMs: 2000, resolve: async (host: string) => answers[host] ?? [] });
    for (const host of Object.keys(answers)) await assert.rejects(client.request({ url: `http://${host}:${port}/` }), refused, host);
    assert.equal(hits, 0);
  });

  test('non-HTTP schemes and credentials in URLs are refused', async () => {
    const client = createGuardedHttpClient();
    for (const url of [
      'file:///etc/passwd',
      'gopher://127.0.0.1:6379/_INFO',
      'ftp://example.com/',
      'http://admin:pw@example.com/',
      'dict://127.0.0.1:11211/',
    ]) {
      await assert.rejects(client.request({ url }), refused, url);
    }
  });
});
