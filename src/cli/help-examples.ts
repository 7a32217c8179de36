import type { Command } from 'commander';

/**
 * Examples for `--help` of commands that do not carry their own (`addHelpText('after', …)` in the command's
 * file wins). Every command a person can run shows at least one example; test/cli-help.test.ts checks it.
 */
const EXAMPLES: Record<string, string[]> = {
  version: ['riposte version', 'riposte version --json'],
  serve: ['riposte serve --port 8080', 'RIPOSTE_DATABASE_URL=postgres://riposte@db/riposte riposte serve --no-worker'],
  worker: ['RIPOSTE_DATABASE_URL=postgres://riposte@db/riposte riposte worker --concurrency 50 --health-port 9464 --lease 30s'],
  'db migrate': ['riposte db migrate', 'riposte db migrate --json'],
  'db status': ['riposte db status'],
  run: ['riposte run ip-enrichment --input alert.json', 'riposte run ip-enrichment --input alert.json --dry-run'],
  'hunt list': ['riposte hunt list', 'riposte hunt list --limit 10 --json'],
  'hunt show': ['riposte hunt show 0193a9a4-5c1e-7a2b-9f00-1d2e3f4a5b6c', 'riposte hunt show 0193a9a4-5c1e-7a2b-9f00-1d2e3f4a5b6c --json'],
  'runs list': ['riposte runs list --status waiting', 'riposte runs list --playbook ip-enrichment --json'],
  'runs show': ['riposte runs show 01a2209d-8d0f-7000-bff3-757819cb362e'],
  'runs cancel': ['riposte runs cancel 01a2209d-8d0f-7000-bff3-757819cb362e'],
  'runs resume': ['riposte runs resume 01a2209d-8d0f-7000-bff3-757819cb362e'],
  'runs decide': ['riposte runs decide 01a2209d-8d0f-7000-bff3-757819cb362e ask --approve --actor alice --comment "confirmed with the owner"'],
  'playbook validate': ['riposte playbook validate', 'riposte playbook validate playbooks/ip-enrichment.yml'],
  'playbook test': ['riposte playbook test', 'riposte playbook test playbooks/ip-enrichment.test.yml'],
  'playbook actions': ['riposte playbook actions', 'riposte playbook actions --json'],
  'playbook schema': ['riposte playbook schema > playbook.schema.json'],
  'audit verify': ['riposte audit verify', 'riposte audit verify --json'],
  'audit export': ['riposte audit export --since 2026-11-01T00:00:00Z -o audit.jsonl'],
  'users add': ['riposte users add alice --role analyst --role responder'],
  'users list': ['riposte users list --json'],
  'users disable': ['riposte users disable alice'],
  'users enable': ['riposte users enable alice'],
  'users unlock': ['riposte users unlock alice'],
  'users set-roles': ['riposte users set-roles alice --role analyst,approver'],
  'users passwd': ['riposte users passwd admin'],
  'tokens create': ['riposte tokens create --user firewall --scope edl:read --name pa-fw-01', 'riposte tokens create --user admin --json'],
  'tokens list': ['riposte tokens list --user alice'],
  'tokens revoke': ['riposte tokens revoke 01a2209d-8d0f-7000-bff3-757819cb362e'],
  'policy validate': ['riposte policy validate policy.yml'],
  'policy test': ['riposte policy test policy.test.yml'],
  'policy explain': ['riposte policy explain --input decision-input.yml', 'riposte policy explain --input decision-input.yml --policy policy.yml --json'],
  'policy default': ['riposte policy default > policy.yml'],
  'stix validate-pattern': ['riposte stix validate-pattern --jsonl < patterns.jsonl > results.jsonl'],
  'stix match': ['riposte stix match --jsonl < cases.jsonl > results.jsonl'],
  'integrations products': ['riposte integrations products'],
  'integrations list': ['riposte integrations list --json'],
  'integrations add': [
    'VT_KEY=… riposte integrations add virustotal --product virustotal --secret-env apiKey=VT_KEY',
    'riposte integrations add misp_eu --product misp --base-url https://misp.example.org --secret-stdin apiKey',
  ],
  'integrations remove': ['riposte integrations remove virustotal'],
  'integrations test': ['riposte integrations test virustotal'],
  'lab start': ['riposte lab start --latency 100 --configure'],
  'edl list': ['riposte edl list', 'riposte edl list riposte-block --json'],
  'edl add': [
    'riposte edl add 203.0.113.7 --ttl 24h --reason "reported by a partner CERT"',
    'riposte edl add https://login-examp1e.top/verify --type url --ttl 30d',
  ],
  'edl remove': ['riposte edl remove 203.0.113.7 --reason "false positive"'],
  'llm test': ['riposte llm test', 'RIPOSTE_AI_BASE_URL=http://127.0.0.1:11434/v1 RIPOSTE_AI_MODEL=llama3.1:8b riposte llm test --json'],
  'llm summarize': ['riposte llm summarize 42', 'riposte llm summarize 01a2209d-8d0f-7000-bff3-757819cb362e --json'],
  'llm explain': ['riposte llm explain 42', 'riposte llm explain 42 --observable 185.220.101.47'],
  'llm suggest': ['riposte llm suggest 42'],
  'llm draft': ['riposte llm draft "enrich an IP with VirusTotal and AbuseIPDB, then comment the verdict on the case" --out draft.yml'],
  'llm drafts list': ['riposte llm drafts', 'riposte llm drafts list --json'],
  'llm drafts show': ['riposte llm drafts show 01a2209d-8d0f-7000-bff3-757819cb362e'],
};

/** Appends an Examples section to every command that has none of its own. */
export function addHelpExamples(program: Command): void {
  const visit = (command: Command, path: string[]) => {
    for (const sub of command.commands) {
      const name = [...path, sub.name()].join(' ');
      const examples = EXAMPLES[name];
      if (examples && !/Example/i.test(fullHelpText(sub))) {
        sub.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);
      }
      visit(sub, [...path, sub.name()]);
    }
  };
  visit(program, []);
}

/** A command's whole `--help`: commander keeps text added with addHelpText in listeners, not in helpInformation. */
export function fullHelpText(command: Command): string {
  let after = '';
  const write = (chunk: string) => {
    after += chunk;
  };
  const events = command as unknown as NodeJS.EventEmitter;
  events.emit('afterHelp', { error: false, command, write });
  events.emit('afterAllHelp', { error: false, command, write });
  return command.helpInformation() + after;
}
