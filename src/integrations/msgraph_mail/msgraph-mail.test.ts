import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  GRAPH_SCOPE,
  GraphMailTenant,
  graphMailHandler,
  identityPlatformHandler,
  SIMULATOR_CLIENT_ID,
  SIMULATOR_CLIENT_SECRET,
  SIMULATOR_TENANT_ID,
  startSimulator,
  TokenIssuer,
  type VendorSimulator,
} from '../../lab/index.ts';
import { createIntegrationInstance, type IntegrationInstance } from '../sdk/index.ts';
import msgraphMail, { odataString } from './index.ts';

/** The Graph mail connector against its simulator: reporting mailbox, search across mailboxes, purge. */
const issuer = new TokenIssuer();
const tenant = new GraphMailTenant();
let login: VendorSimulator;
let api: VendorSimulator;

const lure = (id: string, subject = "Your mailbox is full: O'Brien's quota") =>
  `From: "IT Support" <helpdesk@it-support.example>\r\nTo: staff@corp.example\r\nSubject: ${subject}\r\nMessage-ID: <${id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nClick https://quota.example/login\r\n`;

before(async () => {
  login = await startSimulator(identityPlatformHandler(issuer, [GRAPH_SCOPE]));
  let url = '';
  api = await startSimulator(graphMailHandler(tenant, issuer, { baseUrl: () => url, maxPage: 3 }));
  url = api.url;
  for (let i = 0; i < 7; i++) tenant.addMailbox(`user${i}@corp.example`);
  for (const box of ['user1', 'user3', 'user5']) tenant.deliver(`${box}@corp.example`, lure('campaign-1@it-support.example'));
  tenant.deliver('user2@corp.example', lure('other@it-support.example', 'Lunch'));
  tenant.deliver('phish-report@corp.example', lure('r1@x'));
  tenant.deliver('phish-report@corp.example', lure('r2@x'), { isRead: true });
});
after(async () => {
  await login.close();
  await api.close();
});

function instance(): IntegrationInstance {
  return createIntegrationInstance(
    msgraphMail,
    {
      name: 'm365',
      config: { baseUrl: api.url, loginUrl: login.url, tenantId: SIMULATOR_TENANT_ID, clientId: SIMULATOR_CLIENT_ID },
      secrets: { clientSecret: SIMULATOR_CLIENT_SECRET },
    },
    { guard: { allow: ['127.0.0.1'] }, timeoutMs: 2000, retry: { attempts: 2, baseDelayMs: 5 } },
  );
}

describe('msgraph_mail connector', () => {
  test('OData literals double single quotes', () => {
    assert.equal(odataString("O'Brien"), "'O''Brien'");
  });

  test('the reporting mailbox: unread messages, their MIME, then marked read and moved', async () => {
    const m365 = instance();
    const listed = (await m365.run('list_unread', { mailbox: 'phish-report@corp.example' }, { idempotencyKey: 'l1' })) as {
      messages: Array<{ id: string; internet_message_id: string }>;
    };
    assert.deepEqual(
      listed.messages.map((m) => m.internet_message_id),
      ['<r1@x>'],
    );
    const id = listed.messages[0]?.id ?? '';
    const mime = (await m365.run('get_mime', { mailbox: 'phish-report@corp.example', id }, { idempotencyKey: 'g1' })) as { mime: string };
    assert.match(mime.mime, /^From: "IT Support"/);
    await m365.run('mark_processed', { mailbox: 'phish-report@corp.example', id, move_to: 'archive' }, { idempotencyKey: 'p1' });
    const again = (await m365.run('list_unread', { mailbox: 'phish-report@corp.example' }, { idempotencyKey: 'l2' })) as { messages: unknown[] };
    assert.equal(again.messages.length, 0);
    assert.deepEqual(tenant.copies('<r1@x>'), [{ mailbox: 'phish-report@corp.example', folder: 'archive' }]);
  });

  test('search finds the campaign in every mailbox (paged users), by Message-ID and by subject + sender; purge moves them to Deleted Items', async () => {
    const m365 = instance();
    const byId = (await m365.run('search_messages', { internet_message_id: '<campaign-1@it-support.example>' }, { idempotencyKey: 's1' })) as {
      searched: number;
      matches: Array<{ mailbox: string; id: string }>;
    };
    assert.equal(byId.searched, 8);
    assert.deepEqual(byId.matches.map((m) => m.mailbox).sort(), ['user1@corp.example', 'user3@corp.example', 'user5@corp.example']);
    const bySubject = (await m365.run(
      'search_messages',
      { subject: "Your mailbox is full: O'Brien's quota", from: 'helpdesk@it-support.example', mailboxes: ['user1@corp.example', 'user2@corp.example'] },
      { idempotencyKey: 's2' },
    )) as { matches: Array<{ mailbox: string }> };
    assert.deepEqual(
      bySubject.matches.map((m) => m.mailbox),
      ['user1@corp.example'],
    );
    const purge = (await m365.run('purge_messages', { messages: byId.matches.map(({ mailbox, id }) => ({ mailbox, id })) }, { idempotencyKey: 'x1' })) as {
      purged: number;
      already_gone: number;
    };
    assert.equal(purge.purged, 3);
    assert.ok(tenant.copies('<campaign-1@it-support.example>').every((c) => c.folder === 'deleteditems'));
    // A retried purge finds them gone (moved items get new ids): counted, not failed.
    const retry = (await m365.run('purge_messages', { messages: byId.matches.map(({ mailbox, id }) => ({ mailbox, id })) }, { idempotencyKey: 'x1' })) as {
      purged: number;
      already_gone: number;
    };
    assert.deepEqual([retry.purged, retry.already_gone], [0, 3]);
  });

  test('an expired token is refreshed once; the client secret goes only to the sign-in endpoint', async () => {
    const m365 = instance();
    await m365.run('list_mailboxes', {}, { idempotencyKey: 'a' });
    issuer.expireAll();
    const out = (await m365.run('list_mailboxes', {}, { idempotencyKey: 'b' })) as { mailboxes: string[] };
    assert.equal(out.mailboxes.length, 8);
    assert.ok(api.requests.every((r) => !r.body.includes(SIMULATOR_CLIENT_SECRET) && !JSON.stringify(r.headers).includes(SIMULATOR_CLIENT_SECRET)));
  });
});
