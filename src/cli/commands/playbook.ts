import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { registeredActions } from '../../app/index.ts';
import { RiposteError, usageError } from '../../core/index.ts';
import {
  formatIssues,
  loadPlaybookDirectory,
  loadPlaybookFile,
  type PlaybookIssue,
  type PlaybookTestResult,
  playbookFileForTest,
  playbookJsonSchema,
  runPlaybookTests,
} from '../../engine/index.ts';
import { openStore } from '../../store/index.ts';
import { configFor } from '../context.ts';
import { createOutput, formatTable } from '../output.ts';

export function registerPlaybook(program: Command): void {
  const playbook = program.command('playbook').description('validate, test and inspect playbooks');

  playbook
    .command('validate')
    .description('check playbook files: YAML, schema, actions and their inputs, templates, goto targets, call cycles')
    .argument('<files...>', 'playbook YAML files')
    .option('--json', 'print the issues as JSON')
    .action((files: string[], options: { json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const config = configFor(command);
      const actions = registeredActions(config);
      const catalog = loadPlaybookDirectory(config.engine.playbooks_dir, actions);
      const results: Array<{ file: string; valid: boolean; issues: PlaybookIssue[] }> = [];
      for (const file of files) {
        if (!existsSync(file)) throw usageError(`no such file: ${file}`);
        if (/\.test\.ya?ml$/i.test(file)) {
          results.push({ file, valid: true, issues: [] });
          out.note(`${file}: a playbook test file, skipped (run it with \`riposte playbook test ${file}\`)`);
          continue;
        }
        const { issues } = loadPlaybookFile(file, { actions, playbooks: catalog });
        results.push({ file, valid: issues.length === 0, issues });
      }
      out.data(results, () =>
        results.map((r) => (r.valid ? `${r.file}: ok` : `${formatIssues(r.file, r.issues)}\n${r.file}: ${r.issues.length} problem(s)`)).join('\n'),
      );
      if (results.some((r) => !r.valid)) process.exitCode = 1;
    });

  playbook
    .command('test')
    .description('run playbook tests (*.test.yml next to the playbooks) with mocked actions')
    .argument('[paths...]', 'test files or folders (default: the playbooks folder)')
    .option('--json', 'print the results as JSON')
    .action(async (paths: string[], options: { json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const config = configFor(command);
      const actions = registeredActions(config);
      const testFiles = collectTestFiles(paths.length > 0 ? paths : [config.engine.playbooks_dir]);
      if (testFiles.length === 0) throw usageError(`no *.test.yml files found in ${paths.join(', ') || config.engine.playbooks_dir}`);
      const results: PlaybookTestResult[] = [];
      for (const testFile of testFiles) {
        const catalog = loadPlaybookDirectory(resolve(testFile, '..'), actions);
        const playbookFile = playbookFileForTest(testFile);
        const loaded = loadPlaybookFile(playbookFile, { actions, playbooks: catalog });
        if (!loaded.playbook) {
          results.push({ file: testFile, case: '(load)', passed: false, failures: [formatIssues(playbookFile, loaded.issues)], runId: undefined });
          continue;
        }
        const store = await openStore({ sqliteFile: ':memory:' });
        try {
          results.push(...(await runPlaybookTests({ testFile, playbook: loaded.playbook, store, actions, playbooks: catalog })));
        } finally {
          await store.close();
        }
      }
      const failed = results.filter((r) => !r.passed);
      out.data(results, () =>
        [
          ...results.map((r) => `${r.passed ? 'pass' : 'FAIL'}  ${r.file} › ${r.case}${r.passed ? '' : `\n      ${r.failures.join('\n      ')}`}`),
          `${results.length - failed.length} passed, ${failed.length} failed`,
        ].join('\n'),
      );
      if (failed.length > 0) process.exitCode = 1;
    });

  playbook
    .command('actions')
    .description('list the actions playbooks can use')
    .option('--json', 'print as JSON')
    .action((options: { json?: boolean }, command: Command) => {
      const out = createOutput(Boolean(options.json));
      const actions = registeredActions(configFor(command));
      const rows = actions.ids().map((id) => {
        const action = actions.get(id);
        return { id, title: action?.title ?? '', impact: action?.impact ?? '', inverse: action?.inverse ?? null };
      });
      out.data(rows, () =>
        formatTable(
          ['action', 'impact', 'title'],
          rows.map((r) => [r.id, r.impact, r.title]),
        ),
      );
    });

  playbook
    .command('schema')
    .description('print the playbook JSON Schema (for editors), or write it to a file')
    .option('--output <file>', 'write to this file instead of stdout')
    .action((options: { output?: string }) => {
      const text = `${JSON.stringify(playbookJsonSchema(), null, 2)}\n`;
      if (options.output) writeFileSync(options.output, text);
      else process.stdout.write(text);
    });
}

function collectTestFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) throw new RiposteError('cli.usage', `no such file or folder: ${path}`);
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) if (/\.test\.ya?ml$/i.test(name)) out.push(join(path, name));
    } else {
      out.push(path);
    }
  }
  return out;
}
