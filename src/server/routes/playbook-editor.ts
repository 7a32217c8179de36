import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { notFound, parseYamlWithPositions, RiposteError } from '../../core/index.ts';
import type { LoadResult, PlaybookDirectory } from '../../engine/index.ts';
import { playbookGraph } from './run-graph.ts';

/**
 * The UI's playbook editor: a playbook's YAML as loaded from the playbooks folder, and validation of an
 * edited text with every issue at its line and column plus the graph the text would run as. Validating
 * changes nothing on the server (the folder is the source of truth; saving is a file or Git change).
 */
const MAX_YAML = 256 * 1024;

export async function playbookEditorRoutes(
  app: FastifyInstance,
  options: { playbooks: PlaybookDirectory; validate: (yaml: string) => LoadResult },
): Promise<void> {
  const { playbooks, validate } = options;

  app.get<{ Params: { id: string } }>(
    '/api/v1/playbooks/:id/source',
    {
      config: { permission: 'playbooks:read' },
      schema: {
        tags: ['playbooks'],
        summary: 'A loaded playbook’s YAML, as in the playbooks folder',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } },
      },
    },
    async (request) => {
      // By id only (never by path): the folder's files are the only ones this route reads.
      const file = playbooks.files().find((f) => f.playbook?.id === request.params.id);
      if (!file) throw notFound('playbook', request.params.id);
      let yaml: string;
      try {
        yaml = readFileSync(file.file, 'utf8');
      } catch (error) {
        throw new RiposteError('engine.playbook_unreadable', `cannot read playbook ${basename(file.file)}: ${(error as NodeJS.ErrnoException).code ?? error}`, {
          status: 500,
        });
      }
      return { id: request.params.id, version: file.playbook?.version ?? null, file: basename(file.file), yaml, issues: file.issues };
    },
  );

  app.post<{ Body: { yaml: string } }>(
    '/api/v1/playbooks/validate',
    {
      config: { permission: 'playbooks:read' },
      schema: {
        tags: ['playbooks'],
        summary: 'Validate playbook YAML: issues with line and column, and the step graph',
        body: {
          type: 'object',
          required: ['yaml'],
          properties: { yaml: { type: 'string', maxLength: MAX_YAML } },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const { yaml } = request.body;
      const result = validate(yaml);
      // The preview draws whatever parses, so an author sees the shape while fixing issues.
      let definition: unknown = result.playbook;
      if (definition === undefined) {
        const parsed = parseYamlWithPositions(yaml, 'engine.invalid_yaml');
        if (parsed.ok) {
          try {
            definition = parsed.doc.toJS({ maxAliasCount: 100 });
          } catch {
            definition = undefined;
          }
        }
      }
      const playbook = result.playbook;
      return {
        valid: playbook !== undefined && result.issues.length === 0,
        playbook: playbook ? { id: playbook.id, version: playbook.version, title: playbook.title ?? null } : null,
        issues: result.issues.map((i) => ({
          code: i.code,
          path: i.path.join('.'),
          message: i.message,
          ...(i.hint ? { hint: i.hint } : {}),
          line: i.line ?? null,
          column: i.column ?? null,
        })),
        graph: playbookGraph(definition ?? null),
      };
    },
  );
}
