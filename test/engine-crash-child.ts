import { httpRequestAction } from '../src/app/http-request-action.ts';
import { builtinActions, Engine } from '../src/engine/index.ts';
import { openStore } from '../src/store/index.ts';

/**
 * The runner as a separate process, for the crash tests: it opens the store named by the environment,
 * runs every unfinished run it finds (resuming from the journals), and exits 0 once none is left
 * (or, with CRASH_CHILD_STAY=1, keeps running until killed). The parent SIGKILLs it at random points.
 */
const store = await openStore({
  databaseUrl: process.env.RIPOSTE_DATABASE_URL,
  schema: process.env.RIPOSTE_DATABASE_SCHEMA,
  dataDir: process.env.RIPOSTE_DATA_DIR,
});
const actions = builtinActions().register(httpRequestAction({ allow: ['127.0.0.1/32'] }));
const engine = new Engine({ store, actions, runner: { exclusive: true, pollMs: 25, maxActiveRuns: Number(process.env.CRASH_CHILD_MAX_ACTIVE ?? 100) } });
await engine.start();
process.stdout.write('ready\n');
if (process.env.CRASH_CHILD_STAY !== '1') {
  for (;;) {
    const active = await store.engine.listRuns({ status: ['queued', 'running', 'waiting'], limit: 1 });
    if (active.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await engine.stop();
  await store.close();
  process.stdout.write('done\n');
  process.exit(0);
}
