import { writeFileSync } from 'node:fs';
import { playbookJsonSchema } from '../src/engine/index.ts';

/** `node scripts/generate-playbook-schema.ts`: rewrites schemas/playbook.schema.json from the zod schemas. */
const target = new URL('../schemas/playbook.schema.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(playbookJsonSchema(), null, 2)}\n`);
process.stderr.write(`wrote ${target.pathname}\n`);
