import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AUTHENTICATED } from '../auth/index.ts';
import { testBackends } from '../store/testing.ts';
import { openTestServer, type TestServer } from './testing.ts';

interface Operation {
  security?: Array<Record<string, string[]>>;
  'x-riposte-permission'?: string;
  description?: string;
  tags?: string[];
  summary?: string;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  components: { securitySchemes: Record<string, { type: string; scheme?: string; in?: string; name?: string }> };
  paths: Record<string, Record<string, Operation>>;
}

const [backend] = testBackends();

describe('OpenAPI document and docs page', () => {
  let server: TestServer;
  let doc: OpenApiDocument;
  before(async () => {
    if (!backend) throw new Error('no test backend');
    server = await openTestServer(backend);
    const res = await server.app.inject({ url: '/api/openapi.json' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /application\/json/);
    doc = res.json() as OpenApiDocument;
  });
  after(async () => {
    await server.dispose();
  });

  test('is OpenAPI 3.1 with bearer and cookie security schemes', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.info.title, 'Riposte API');
    assert.deepEqual(doc.components.securitySchemes.bearer?.scheme, 'bearer');
    assert.deepEqual(doc.components.securitySchemes.session, {
      type: 'apiKey',
      in: 'cookie',
      name: 'riposte_session',
      description: 'UI session cookie; unsafe methods also need x-csrf-token',
    });
  });

  test('every operation states its security and the permission it needs, matching the route', async () => {
    assert.ok(backend);
    const routes = new Map<string, { public?: boolean; permission?: string }>();
    const probe = await openTestServer(backend, {
      onRoute: (route) => {
        for (const method of [route.method].flat()) routes.set(`${method.toLowerCase()} ${route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`, route.config ?? {});
      },
    });
    await probe.app.ready();
    await probe.dispose();

    let operations = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        operations++;
        const config = routes.get(`${method} ${path}`);
        assert.ok(config, `${method} ${path} is documented but not a route`);
        assert.ok(operation.summary, `${method} ${path} has a summary`);
        if (config.public) {
          assert.deepEqual(operation.security, [], `${method} ${path} is public`);
        } else {
          assert.deepEqual(operation.security, [{ bearer: [] }, { session: [] }], `${method} ${path}`);
          assert.equal(operation['x-riposte-permission'], config.permission);
          const expected = config.permission === AUTHENTICATED ? 'any signed-in caller' : `permission \`${config.permission}\``;
          assert.ok(operation.description?.endsWith(`Requires ${expected}.`), `${method} ${path}: ${operation.description}`);
        }
      }
    }
    assert.ok(operations >= 10, `only ${operations} operations documented`);
    assert.ok(doc.paths['/api/v1/users/{name}']?.patch, 'path parameters use OpenAPI syntax');
    assert.equal(doc.paths['/api/docs/json'], undefined, 'the docs’ own routes are not documented as API');
  });

  test('request and response schemas come from the routes', () => {
    const login = doc.paths['/api/v1/auth/login']?.post as unknown as {
      requestBody: { content: { 'application/json': { schema: { required: string[] } } } };
    };
    assert.deepEqual(login.requestBody.content['application/json'].schema.required, ['username', 'password']);
    const list = doc.paths['/api/v1/users']?.get as unknown as { parameters: Array<{ name: string; in: string }> };
    assert.deepEqual(list.parameters.map((p) => `${p.in}:${p.name}`).sort(), ['query:cursor', 'query:limit']);
  });

  test('Swagger UI is served from the server itself, without credentials and without a CDN', async () => {
    const page = await server.app.inject({ url: '/api/docs' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /swagger-ui/i);
    assert.doesNotMatch(page.body, /https?:\/\/(?!localhost)[a-z0-9.-]+\/[^"']*\.(js|css)/i, 'no script or style from elsewhere');
    assert.ok(page.headers['content-security-policy'], 'the docs page sets a CSP');
    const initializer = await server.app.inject({ url: '/api/docs/static/swagger-initializer.js' });
    assert.equal(initializer.statusCode, 200);
    const bundle = await server.app.inject({ url: '/api/docs/static/swagger-ui-bundle.js' });
    assert.equal(bundle.statusCode, 200);
    assert.ok(bundle.body.length > 100_000);
    const spec = await server.app.inject({ url: '/api/docs/json' });
    assert.equal((spec.json() as OpenApiDocument).openapi, '3.1.0');
  });
});
