import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../../auth/index.ts';
import { type Config, RiposteError } from '../../core/index.ts';
import {
  acceptsTaxii,
  isTaxiiContentType,
  notAcceptable,
  TAXII_MEDIA_TYPE,
  type TaxiiCaller,
  type TaxiiQuery,
  type TaxiiService,
  taxiiErrorMessage,
  unsupportedMediaType,
} from '../../intel/index.ts';
import { requireActor } from '../auth.ts';
import type { ErrorSender } from '../problem.ts';
import type { ServerServices } from '../services.ts';

/**
 * The TAXII 2.1 server at /taxii2/ (OASIS TAXII 2.1 §4–§5). Authentication is the server's own (bearer
 * token, or HTTP Basic with the user name and an API token as the password, which most TAXII clients
 * speak); `taxii:read` opens the GET endpoints and `taxii:write` adding and deleting objects, and each
 * collection then names who may read and write it. Every response, errors included, is
 * `application/taxii+json;version=2.1`; errors are TAXII error messages rather than problem+json.
 */
export const TAXII_PREFIX = '/taxii2';

// Bodies go out as Buffers: Fastify would rewrite a string's content type to `…; version="2.1"; charset=utf-8`,
// which strict TAXII clients compare byte for byte.
const sendTaxiiError: ErrorSender = (reply, request, error) => {
  if (error.status === 406) reply.removeHeader('content-type');
  return reply
    .code(error.status)
    .header('content-type', TAXII_MEDIA_TYPE)
    .send(Buffer.from(JSON.stringify(taxiiErrorMessage(error, request.id))));
};

function callerOf(actor: Actor): TaxiiCaller {
  return { userId: actor.userId, grants: new Set<string>([...actor.roles, ...actor.permissions]) };
}

function discoveryBase(request: FastifyRequest, config: Config): string {
  const origin = config.server.public_url !== undefined ? new URL(config.server.public_url).origin : `${request.protocol}://${request.host}`;
  return `${origin}${TAXII_PREFIX}/`;
}

function send(reply: FastifyReply, result: { body: unknown; headers?: Record<string, string> }, status = 200): FastifyReply {
  for (const [name, value] of Object.entries(result.headers ?? {})) reply.header(name, value);
  return reply
    .code(status)
    .header('content-type', TAXII_MEDIA_TYPE)
    .send(Buffer.from(JSON.stringify(result.body)));
}

interface RootParams {
  root: string;
}
interface CollectionParams extends RootParams {
  collection: string;
}
interface ObjectParams extends CollectionParams {
  object: string;
}

export async function taxiiRoutes(app: FastifyInstance, options: { services: ServerServices & { taxii: TaxiiService } }): Promise<void> {
  const { taxii, config, cases } = options.services;
  const read = { permission: 'taxii:read', basicAuth: true, sendError: sendTaxiiError };
  const write = { permission: 'taxii:write', basicAuth: true, sendError: sendTaxiiError };
  const audit = async (request: FastifyRequest, action: string, target: string, details: Record<string, unknown>) => {
    await cases?.recordAudit({ actor: requireActor(request), action, target, details });
  };

  // Parsed as JSON; whether the Content-Type is the TAXII one is checked by the handler (415, not 400).
  app.addContentTypeParser(/^application\/taxii\+json/i, { parseAs: 'string', bodyLimit: taxii.maxContentLength }, app.getDefaultJsonParser('error', 'error'));
  app.addHook('preHandler', async (request) => {
    if (!acceptsTaxii(request.headers.accept)) throw notAcceptable(request.headers.accept);
  });
  app.setNotFoundHandler((request, reply) =>
    sendTaxiiError(reply, request, new RiposteError('taxii.not_found', `no TAXII resource at ${request.url.split('?')[0]}`, { status: 404 })),
  );

  app.get('/', { config: read }, async (request, reply) => send(reply, { body: await taxii.discovery(discoveryBase(request, config)) }));

  app.get<{ Params: RootParams }>('/:root/', { config: read }, async (request, reply) => send(reply, { body: await taxii.apiRoot(request.params.root) }));

  app.get<{ Params: RootParams & { status: string } }>('/:root/status/:status/', { config: read }, async (request, reply) =>
    send(reply, { body: await taxii.status(request.params.root, request.params.status, callerOf(requireActor(request))) }),
  );

  app.get<{ Params: RootParams }>('/:root/collections/', { config: read }, async (request, reply) =>
    send(reply, { body: await taxii.collections(request.params.root, callerOf(requireActor(request))) }),
  );

  app.get<{ Params: CollectionParams }>('/:root/collections/:collection/', { config: read }, async (request, reply) =>
    send(reply, { body: await taxii.collection(request.params.root, request.params.collection, callerOf(requireActor(request))) }),
  );

  app.get<{ Params: CollectionParams; Querystring: TaxiiQuery }>('/:root/collections/:collection/objects/', { config: read }, async (request, reply) =>
    send(reply, await taxii.getObjects(request.params.root, request.params.collection, request.query, callerOf(requireActor(request)))),
  );

  app.post<{ Params: CollectionParams }>(
    '/:root/collections/:collection/objects/',
    { config: write, bodyLimit: taxii.maxContentLength },
    async (request, reply) => {
      if (!isTaxiiContentType(request.headers['content-type'])) throw unsupportedMediaType(request.headers['content-type']);
      const { root, collection } = request.params;
      const status = await taxii.addObjects(root, collection, request.body, callerOf(requireActor(request)));
      await audit(request, 'taxii.objects_added', `taxii-collection:${collection}`, {
        status_id: status.id,
        success_count: status.success_count,
        failure_count: status.failure_count,
      });
      return send(reply, { body: status }, 202);
    },
  );

  app.get<{ Params: CollectionParams; Querystring: TaxiiQuery }>('/:root/collections/:collection/manifest/', { config: read }, async (request, reply) =>
    send(reply, await taxii.manifest(request.params.root, request.params.collection, request.query, callerOf(requireActor(request)))),
  );

  app.get<{ Params: ObjectParams; Querystring: TaxiiQuery }>('/:root/collections/:collection/objects/:object/', { config: read }, async (request, reply) =>
    send(reply, await taxii.getObject(request.params.root, request.params.collection, request.params.object, request.query, callerOf(requireActor(request)))),
  );

  app.delete<{ Params: ObjectParams; Querystring: TaxiiQuery }>(
    '/:root/collections/:collection/objects/:object/',
    { config: write },
    async (request, reply) => {
      const { root, collection, object } = request.params;
      const deleted = await taxii.deleteObject(root, collection, object, request.query, callerOf(requireActor(request)));
      await audit(request, 'taxii.object_deleted', `taxii-collection:${collection}`, { object_id: object, versions_deleted: deleted });
      return reply.code(200).header('content-type', TAXII_MEDIA_TYPE).send();
    },
  );

  app.get<{ Params: ObjectParams; Querystring: TaxiiQuery }>(
    '/:root/collections/:collection/objects/:object/versions/',
    { config: read },
    async (request, reply) =>
      send(reply, await taxii.versions(request.params.root, request.params.collection, request.params.object, request.query, callerOf(requireActor(request)))),
  );
}
