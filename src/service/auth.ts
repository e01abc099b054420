/**
 * Bearer-token authentication and permission checks. Tokens are resolved through
 * `authenticateApiToken` (PostgreSQL, hashed) to a user and their permissions; each protected
 * route names the one permission it needs.
 *
 * Missing or unusable credentials are 401 (with `WWW-Authenticate: Bearer`), a known caller
 * without the permission is 403. The token itself never reaches a log or an error message.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticatedToken } from '../lib/db/postgres/api-tokens.js';
import { NovaError } from '../lib/errors.js';
import type { ClientLimiter } from './client-limits.js';
import type { AuthOutcome } from './metrics.js';

export type Authenticate = (token: string) => Promise<AuthenticatedToken | null>;

/** How the service authenticates: the token lookup, behind the per-client limits. */
export interface Gate {
  authenticate: Authenticate;
  /** The principal cache's answer at once, when it has one (no promise on the common path). */
  cached?: (token: string) => AuthenticatedToken | undefined;
  limiter: ClientLimiter;
  /** Counts a refusal (nova.auth.failures: metrics.ts). */
  failed(outcome: AuthOutcome): void;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, once a route has authenticated it; undefined for anonymous callers. */
    principal?: AuthenticatedToken;
  }
}

/** The token of an `Authorization: Bearer <token>` header; undefined without the header. */
function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  if (!match?.[1]) throw unauthenticated('the Authorization header must be `Bearer <token>`');
  return match[1];
}

const unauthenticated = (message: string) =>
  new NovaError('UNAUTHENTICATED', message, { field: 'authorization' });

/**
 * Resolves the caller when credentials are sent. `required`: no credentials is 401; without
 * it the request goes on anonymously (health). Credentials that are sent must be valid.
 * Answers at once (no promise) when there are none or the principal cache knows the token;
 * throws at once for missing or malformed credentials and the per-client limit.
 */
export function identify(
  request: FastifyRequest,
  reply: FastifyReply,
  gate: Gate,
  { required }: { required: boolean },
): AuthenticatedToken | undefined | Promise<AuthenticatedToken | undefined> {
  // An answer to credentials is that caller's: no shared cache (a proxy, a CDN) may keep it,
  // however malformed they are.
  if (request.headers.authorization !== undefined) reply.header('cache-control', 'no-store');
  const token = bearer(request);
  if (token === undefined) {
    if (required) throw unauthenticated('this endpoint needs a bearer token');
    return undefined;
  }
  const { limiter, failed } = gate;
  const wait = limiter.admit(request.ip);
  if (wait !== undefined) {
    failed('limited');
    reply.header('retry-after', String(wait));
    throw new NovaError(
      'RATE_LIMITED',
      `too many requests or failed authentications from this client: retry in ${wait} s`,
      { field: 'authorization' },
    );
  }
  const known = gate.cached?.(token);
  if (known) {
    request.principal = known;
    return known;
  }
  return lookUp(request, gate, token);
}

/** The database's answer for a token the cache does not hold. */
async function lookUp(
  request: FastifyRequest,
  { authenticate, limiter, failed }: Gate,
  token: string,
): Promise<AuthenticatedToken> {
  const principal = await authenticate(token);
  if (!principal) {
    failed('invalid');
    if (limiter.failed(request.ip)) {
      // Once per client and minute, never with the token: the flood shows in the metric.
      request.log.warn(
        { client: request.ip },
        'failed authentications over the limit: refusing this client until the minute ends',
      );
    }
    throw unauthenticated('the token is invalid, expired or revoked');
  }
  request.principal = principal;
  return principal;
}

/** A preHandler: the caller must present a valid token granting `permission`. */
export const requirePermission =
  (gate: Gate, permission: string) =>
  async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const principal = await identify(request, reply, gate, { required: true });
    if (!principal?.permissions.includes(permission)) {
      throw new NovaError('FORBIDDEN', `this endpoint needs the ${permission} permission`, {
        field: 'authorization',
      });
    }
  };
