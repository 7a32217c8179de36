import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command } from 'commander';
import { fullHelpText } from '../src/cli/help-examples.ts';
import { buildProgram } from '../src/cli/main.ts';

/**
 * Every command a person can run has `--help` with a description and at least one example (the README
 * promises it): walks the whole command tree in-process, so a new command without an example fails here.
 */
test('every runnable command has a description and an example in --help', () => {
  const program = buildProgram();
  const missing: string[] = [];
  let leaves = 0;
  const visit = (command: Command, path: string[]) => {
    for (const sub of command.commands) {
      if (sub.name() === 'help') continue;
      const name = [...path, sub.name()];
      const runnable = sub.commands.filter((c) => c.name() !== 'help').length === 0;
      if (runnable) {
        leaves++;
        const help = fullHelpText(sub);
        if (!sub.description()) missing.push(`${name.join(' ')}: no description`);
        if (!/Example/i.test(help)) missing.push(`${name.join(' ')}: no example`);
      }
      visit(sub, name);
    }
  };
  visit(program, []);
  assert.ok(leaves > 50, `walked ${leaves} commands`);
  assert.deepEqual(missing, []);
});
