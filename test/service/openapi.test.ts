/**
 * GET /openapi.json: the API as the routes describe themselves, valid OpenAPI 3.1 (checked
 * against the specification's own JSON Schema), every route in it, each query parameter as
 * the route parses it; and a route without a description refused when the app is built.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { createNovaDb } from '../../src/lib/db/index.js';
import { serveOpenApi } from '../../src/service/openapi.js';
import { testConfig, useTestDatabase } from '../support/database.js';
import { get, serviceApp } from './fixtures.js';

const t = await useTestDatabase();
const db = createNovaDb(testConfig(t.url));
const app = serviceApp(db, t.url);
afterAll(async () => {
  await app.close();
  await db.close();
});

interface Operation {
  security?: unknown[];
  parameters: { name: string; in: string; schema: Record<string, unknown>; explode?: boolean }[];
  responses: Record<string, unknown>;
}
type Document = {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
};

async function document(): Promise<Document> {
  const response = await get(app, '/openapi.json');
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  return response.json() as Document;
}

describe('GET /openapi.json', () => {
  it('is valid OpenAPI 3.1', async () => {
    const result = await new Validator().validate(await document());
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('has every route of the service, and only those', async () => {
    const { paths, info } = await document();
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Object.keys(paths).sort()).toEqual([
      '/api/analytics/performance',
      '/api/analytics/search',
      '/api/health',
      '/api/kb/search',
      '/api/tickets/search',
      '/livez',
      '/metrics',
      '/openapi.json',
      '/readyz',
    ]);
    for (const methods of Object.values(paths)) expect(Object.keys(methods)).toEqual(['get']);
  });

  it('gives each query parameter as the route parses it, and who may call', async () => {
    const { paths } = await document();
    const search = paths['/api/tickets/search']?.get as Operation;
    expect(search.security).toEqual([{ bearer: [] }]);
    const status = search.parameters.find((p) => p.name === 'status');
    expect(status).toMatchObject({ in: 'query', explode: true });
    expect(status?.schema.anyOf).toHaveLength(2); // `a,b` or the parameter repeated
    const top = paths['/api/analytics/search']?.get?.parameters.find((p) => p.name === 'top');
    expect(top?.schema).toMatchObject({ type: 'string', pattern: '^\\d{1,9}$' });
    expect(paths['/api/health']?.get?.security).toEqual([{}, { bearer: [] }]);
    expect(paths['/livez']?.get?.security).toBeUndefined();
    expect(Object.keys(paths['/api/analytics/search']?.get?.responses ?? {})).toContain('429');
  });

  it('refuses to build an app with a route that does not describe itself', () => {
    const bare = Fastify();
    serveOpenApi(bare, '0.0.0');
    expect(() => bare.get('/secret', async () => 'x')).toThrow(
      /GET \/secret has no config.openapi/,
    );
  });
});
