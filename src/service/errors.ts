/**
 * One error handler: every failure becomes `{ "error": { "code", "message", "field"? } }`
 * with the NovaError's HTTP status. Fastify's own refusals (a malformed or too large body, a
 * header too large) keep their status with a stable code; anything unexpected is logged once
 * and answered 500 without its details.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isNovaError, NovaError } from '../lib/errors.js';

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (isNovaError(error)) {
    if (error.code === 'UNAUTHENTICATED') reply.header('www-authenticate', 'Bearer');
    if (error.status >= 500) request.log.warn({ code: error.code, err: error }, error.message);
    return reply.code(error.status).send({ error: error.toJSON() });
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return reply.code(status).send({
      error: {
        code: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_FAILED',
        message: error.message,
      },
    });
  }
  request.log.error({ err: error }, 'unhandled error');
  return reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  const error = new NovaError(
    'NOT_FOUND',
    `no route ${request.method} ${request.url.split('?')[0]}`,
  );
  return reply.code(404).send({ error: error.toJSON() });
}
