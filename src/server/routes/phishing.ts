import type { FastifyInstance } from 'fastify';
import { RiposteError } from '../../core/index.ts';
import { actorOf } from '../actor.ts';
import { PROBLEM_CONTENT_TYPE } from '../problem.ts';
import type { PhishingApi } from '../services.ts';

/**
 * Reported phishing intake. The reported e-mail comes as the raw body (`message/rfc822` for .eml,
 * `application/vnd.ms-outlook` for .msg) with `?reporter=`, or as `multipart/form-data` with a `file`
 * part (any number of them) and a `reporter` field. Answers 201 with one analysis per e-mail found; a
 * report that is stored but cannot be read as e-mail answers 422 with its report id (nothing is lost).
 */
const RAW_TYPES = ['message/rfc822', 'application/vnd.ms-outlook', 'application/octet-stream'];

export async function phishingRoutes(app: FastifyInstance, options: { phishing: PhishingApi }): Promise<void> {
  const { phishing } = options;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: phishing.maxBytes }, (_request, body, done) => done(null, body));

  app.post(
    '/api/v1/phishing/reports',
    {
      config: { permission: 'phishing:submit' },
      bodyLimit: phishing.maxBytes,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { reporter: { type: 'string', maxLength: 320 }, filename: { type: 'string', maxLength: 255 } },
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!Buffer.isBuffer(body) || body.byteLength === 0)
        throw new RiposteError(
          'phishing.empty_report',
          'send the reported e-mail as the request body (message/rfc822 or application/vnd.ms-outlook) or as multipart/form-data',
          {
            status: 400,
          },
        );
      const query = request.query as { reporter?: string; filename?: string };
      const contentType = String(request.headers['content-type'] ?? '').toLowerCase();
      const files: Array<{ filename: string; content: Uint8Array }> = [];
      let reporter = query.reporter;
      if (contentType.startsWith('multipart/form-data')) {
        const form = await new Response(body, { headers: { 'content-type': contentType } }).formData().catch(() => {
          throw new RiposteError('phishing.bad_multipart', 'the multipart/form-data body could not be read: check its boundary', { status: 400 });
        });
        const field = form.get('reporter');
        if (typeof field === 'string' && field !== '') reporter = field;
        for (const part of form.getAll('file')) {
          if (typeof part === 'string') files.push({ filename: 'report.eml', content: new TextEncoder().encode(part) });
          else files.push({ filename: part.name || 'report.eml', content: new Uint8Array(await part.arrayBuffer()) });
        }
        if (files.length === 0)
          throw new RiposteError('phishing.empty_report', 'the form has no "file" part: attach the reported e-mail as field "file"', { status: 400 });
      } else {
        const base = contentType.split(';')[0]?.trim() ?? '';
        if (base !== '' && !RAW_TYPES.includes(base) && !base.startsWith('text/plain'))
          throw new RiposteError(
            'phishing.unsupported_type',
            `content type ${base} is not a reported e-mail: use message/rfc822 (.eml), application/vnd.ms-outlook (.msg) or multipart/form-data`,
            { status: 415 },
          );
        files.push({ filename: query.filename ?? (base === 'application/vnd.ms-outlook' ? 'report.msg' : 'report.eml'), content: new Uint8Array(body) });
      }
      if (!reporter)
        throw new RiposteError('phishing.bad_reporter', 'say who reported it: ?reporter=ann@example.com or a "reporter" form field', { status: 400 });
      const reports = [];
      for (const file of files) reports.push(await phishing.submit({ ...file, reporter, source: 'api' }, actorOf(request)));
      const failed = reports.every((r) => r.status === 'failed');
      if (failed) {
        const first = reports[0]?.error;
        return reply
          .code(422)
          .type(PROBLEM_CONTENT_TYPE)
          .send({
            type: `urn:riposte:problem:${first?.code ?? 'phishing.unreadable'}`,
            title: 'Unprocessable Content',
            status: 422,
            code: first?.code ?? 'phishing.unreadable',
            detail: `the report was stored but could not be read as e-mail: ${first?.message ?? 'unknown reason'}`,
            reports,
          });
      }
      return reply.code(201).send(files.length === 1 ? reports[0] : { reports });
    },
  );
}
