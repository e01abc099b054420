/**
 * GET /api/health: every dependency with status and latency; 503 when a required one is
 * down. Anyone may ask; detail (versions, hosts, replica set, errors) needs health:details.
 * GET /livez: the process answers. GET /readyz: PostgreSQL reachable and every migration
 * applied, so a load balancer sends traffic only to an instance that can serve it.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AuthenticatedToken } from '../../lib/db/postgres/api-tokens.js';
import { type Gate, identify } from '../auth.js';
import type { HealthReport, HealthService } from '../health.js';
import { documented } from '../openapi.js';
import { UNTRACED } from '../tracing.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * A report's JSON, made once per report: the health service hands out the same report object
 * until a probe result changes, so most requests send a string made for an earlier one.
 */
const bodies = new WeakMap<HealthReport, string>();
function serialized(report: HealthReport): string {
  let body = bodies.get(report);
  if (body === undefined) {
    body = JSON.stringify(report);
    bodies.set(report, body);
  }
  return body;
}

const SUMMARY = { details: false } as const;
const DETAILS = { details: true } as const;
/** Details for a caller holding health:details; the summary for anyone else. */
const viewFor = (caller: AuthenticatedToken | undefined) =>
  caller?.permissions.includes('health:details') ? DETAILS : SUMMARY;

/** Sends the report; the reply, for a handler's promise to resolve to (Fastify sends once). */
function send(reply: FastifyReply, report: HealthReport): FastifyReply {
  return reply
    .code(report.status === 'down' ? 503 : 200)
    .type(JSON_TYPE)
    .send(serialized(report));
}

export interface Readiness {
  ready: boolean;
  /** Why not, in words an operator can act on. */
  reasons: string[];
}

export function healthRoutes(
  app: FastifyInstance,
  health: HealthService,
  ready: () => Promise<Readiness>,
  gate: Gate,
) {
  app.get(
    '/api/health',
    documented({
      summary: 'Every dependency with its status and latency',
      optionalPermission: 'health:details',
      responses: {
        200: 'Up or degraded; with health:details, versions, hosts and errors too',
        503: 'A required dependency is down',
      },
    }),
    (request, reply) => {
      // The common case, an anonymous caller or a token the principal cache holds, while every
      // probe result is fresh, is answered at once, without the promises of the general path.
      const caller = identify(request, reply, gate, { required: false });
      if (!(caller instanceof Promise)) {
        const current = health.current(viewFor(caller));
        if (current) {
          send(reply, current);
          return;
        }
      }
      return (async () => send(reply, await health.report(viewFor(await caller))))();
    },
  );

  app.get(
    '/livez',
    documented(
      { summary: 'The process answers (liveness)', responses: { 200: 'Alive' } },
      UNTRACED,
    ),
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    documented(
      {
        summary: 'PostgreSQL reachable and every migration applied (readiness)',
        responses: { 200: 'Ready to take traffic', 503: 'Not ready; the reasons say why' },
      },
      UNTRACED,
    ),
    async (_request, reply) => {
      const readiness = await ready();
      return reply.code(readiness.ready ? 200 : 503).send(readiness);
    },
  );
}
