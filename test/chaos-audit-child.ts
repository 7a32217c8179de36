import { CasesService } from '../src/cases/index.ts';
import { openStore } from '../src/store/index.ts';

/**
 * For the chaos test: appends audit records (and cases, which write audit records too) as fast as it can,
 * printing each one's marker once the write is acknowledged; the parent SIGKILLs it mid-stream.
 */
const store = await openStore({
  databaseUrl: process.env.RIPOSTE_DATABASE_URL,
  schema: process.env.RIPOSTE_DATABASE_SCHEMA,
  dataDir: process.env.RIPOSTE_DATA_DIR,
});
const cases = new CasesService({ store });
const round = process.env.CHAOS_ROUND ?? '0';
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const marker = `chaos-${round}-${i}`;
  if (i % 5 === 0) await cases.createCase({ title: `Chaos case ${marker}`, severity: 'low' });
  else await cases.recordAudit({ actor: { kind: 'system', id: 'chaos', name: 'chaos' }, action: 'chaos.write', target: marker, details: { i } });
  process.stdout.write(`ack ${marker} ${i % 5 === 0 ? 'case' : 'audit'}\n`);
}
