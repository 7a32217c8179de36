import { openRuntime } from '../src/app/index.ts';
import { createLogger, loadConfig } from '../src/core/index.ts';

/**
 * `riposte serve`'s hunt side as a separate process, for test/hunt-crash.test.ts: it opens the runtime on
 * the store named by the environment and continues every hunt run no live process drives (as a server
 * start does). With HUNT_CHILD_START=1 it first starts a hunt through the `fleet` instance and its staged
 * remediation, and prints the hunt id. It runs until the parent kills it.
 */
const config = loadConfig({
  env: process.env,
  cwd: process.env.HUNT_CHILD_DIR as string,
  overrides: { 'log.level': process.env.HUNT_CHILD_LOG ?? 'silent', 'integrations.http_allow': ['127.0.0.1'] },
});
const runtime = await openRuntime(config, createLogger({ level: config.log.level }), {
  announce: () => {},
  hunts: { leaseMs: 1000, approvalPollMs: 100 },
});
const actor = { kind: 'user' as const, id: 'hunter', name: 'hunter' };
await runtime.hunts.runs.startResuming({ exclusive: config.database_url === undefined });
if (process.env.HUNT_CHILD_START === '1') {
  const hunt = await runtime.hunts.run(
    {
      ioc: { key_path: 'HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run', value_name: 'OneDriveUpdate' },
      edr: 'fleet',
      attack: ['T1547.001'],
    },
    actor,
  );
  await runtime.hunts.remediate(hunt.id, actor, { concurrency: 4 });
  process.stdout.write(`hunt ${hunt.id}\n`);
}
process.stdout.write('ready\n');
setInterval(() => {}, 1 << 30);
