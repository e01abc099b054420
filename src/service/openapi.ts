/**
 * GET /openapi.json: the service's API as an OpenAPI 3.1 document, generated from the routes
 * themselves. Each route carries its description in its options (`config.openapi`); its
 * query parameters are the very zod schema the route parses them with, rendered as JSON
 * Schema (the form a caller sends: before transforms). A route registered without a
 * description stops the app from being built, so the document cannot fall behind the routes.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ERROR_CODES } from '../lib/errors.js';
import { UNTRACED } from './tracing.js';

export interface RouteDoc {
  summary: string;
  /** The permission the caller's token must grant; absent: open to anyone. */
  permission?: string;
  /** Open to anyone, with more to say to a token granting this permission. */
  optionalPermission?: string;
  query?: z.ZodType;
  /** Status → what it means; 4xx and 5xx answer the error body. */
  responses: Record<number, string>;
  /** The success body's media type (default application/json). */
  produces?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's place in /openapi.json (required of every route but HEAD's). */
    openapi?: RouteDoc;
  }
}

/** Route options that describe a route (merged with others, e.g. UNTRACED's). */
export const documented = (doc: RouteDoc, options: { config?: object } = {}) => ({
  ...options,
  config: { ...options.config, openapi: doc },
});

interface Documented {
  method: string;
  url: string;
  doc: RouteDoc;
}

const errorBody = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(ERROR_CODES) },
        message: { type: 'string' },
        field: { type: 'string', description: 'The offending input, for bad input' },
      },
    },
    requestId: { type: 'string', description: 'On 5xx answers: the id of the log line' },
  },
};

/** Fastify's `:name` path parameters as OpenAPI's `{name}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function queryParameters(query: z.ZodType | undefined) {
  if (!query) return [];
  const schema = z.toJSONSchema(query, { io: 'input' }) as {
    properties?: Record<string, object>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: schema.required?.includes(name) ?? false,
    schema: property,
    // Lists may be sent as `a,b` or as the parameter repeated.
    ...('anyOf' in property ? { style: 'form', explode: true } : {}),
  }));
}

function operation({ doc }: Documented) {
  const permission = doc.permission ?? doc.optionalPermission;
  return {
    summary: doc.summary,
    ...(permission
      ? {
          description: doc.permission
            ? `Needs a bearer token granting \`${permission}\`.`
            : `Open; a bearer token granting \`${permission}\` sees more.`,
        }
      : {}),
    ...(doc.permission ? { security: [{ bearer: [] }] } : {}),
    ...(doc.optionalPermission ? { security: [{}, { bearer: [] }] } : {}),
    parameters: queryParameters(doc.query),
    responses: Object.fromEntries(
      Object.entries(doc.responses).map(([status, description]) => [
        status,
        {
          description,
          content:
            Number(status) >= 400
              ? { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } }
              : { [doc.produces ?? 'application/json']: { schema: {} } },
        },
      ]),
    ),
  };
}

export function openApiDocument(routes: Documented[], version: string) {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) {
    const path = openApiPath(route.url);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Nova Universe data service',
      version,
      description:
        'Health, readiness, search and analytics over the Nova Universe data tier. Errors answer `{"error": {"code", "message", "field"}}` (docs/troubleshooting.md).',
    },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'nova token create' },
      },
      schemas: { Error: errorBody },
    },
  };
}

/**
 * Collects every route the app registers from here on (call before the routes), refusing one
 * without a description, and serves the document at /openapi.json. `seal()`, once the app's
 * routes are in, ends the collection: a route added later (a test's) is not the API's.
 */
export function serveOpenApi(app: FastifyInstance, version: string): { seal(): void } {
  const routes: Documented[] = [];
  let document: string | undefined;
  let sealed = false;
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat().filter((method) => method !== 'HEAD');
    if (sealed || methods.length === 0) return;
    const doc = route.config?.openapi;
    if (!doc) throw new Error(`route ${methods.join(',')} ${route.url} has no config.openapi`);
    for (const method of methods) routes.push({ method, url: route.url, doc });
  });
  app.get(
    '/openapi.json',
    documented(
      { summary: 'This document', responses: { 200: 'The OpenAPI 3.1 document' } },
      UNTRACED,
    ),
    async (_request, reply) => {
      document ??= JSON.stringify(openApiDocument(routes, version));
      return reply.type('application/json; charset=utf-8').send(document);
    },
  );
  return {
    seal: () => {
      sealed = true;
    },
  };
}
