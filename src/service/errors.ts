/**
 * One error body for everything the service refuses: `{ "error": { "code", "message",
 * "field"? } }`, whoever refuses it.
 *
 * - errorHandler: a NovaError keeps its code and status; Fastify's own refusals of a request
 *   (a malformed or too large body, an unsupported content type) keep their status with a
 *   stable code; anything unexpected is logged once and answered 500 without its details.
 * - frameworkErrors: URLs the router cannot read (bad percent-encoding) or whose path
 *   parameter is too long; Fastify would otherwise answer in its own shape.
 * - clientErrorHandler: what Node's HTTP parser refuses before there is a request at all
 *   (headers over the limit, a malformed request line, a request not received in time),
 *   written straight to the socket, which is then closed.
 * - closing: requests arriving while the service stops get 503 UNAVAILABLE and
 *   `Connection: close` (instead of Fastify's return503OnClosing body).
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isNovaError, NovaError } from '../lib/errors.js';
import { pathOf } from './path.js';
import { recordServerError } from './tracing.js';

/** Stable codes for refusals at the HTTP level, by status; any other 4xx is VALIDATION_FAILED. */
const HTTP_REFUSALS: Record<number, string> = {
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
};

const refusal = (status: number, message: string, field?: string) => ({
  error: {
    code: HTTP_REFUSALS[status] ?? 'VALIDATION_FAILED',
    message,
    ...(field ? { field } : {}),
  },
});

/** What a 5xx body says, by code: the error's own message (hosts, ports, paths) goes to the log. */
const SERVER_SIDE: Record<string, string> = {
  UNAVAILABLE: 'a service this request needs is unavailable; try again later',
  CONFIG_INVALID: 'the service is not configured for this request',
};

/**
 * A 5xx body: the code, a message that names nothing of the server, the variable to set when
 * the field is one (MONGO_URL), and the request's id, which the log line of the failure
 * carries (`reqId`) with the details.
 */
const serverError = (request: FastifyRequest, code: string, field?: string) => ({
  error: {
    code,
    message: SERVER_SIDE[code] ?? 'internal error',
    ...(field && /^[A-Z][A-Z0-9_]*$/.test(field) ? { field } : {}),
    requestId: request.id,
  },
});

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (isNovaError(error)) {
    if (error.code === 'UNAUTHENTICATED') reply.header('www-authenticate', 'Bearer');
    if (error.status < 500) return reply.code(error.status).send({ error: error.toJSON() });
    request.log.warn({ code: error.code, err: error }, error.message);
    recordServerError(request.span, error);
    return reply.code(error.status).send(serverError(request, error.code, error.field));
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return reply.code(status).send(refusal(status, error.message));
  request.log.error({ err: error }, 'unhandled error');
  recordServerError(request.span, error);
  return reply.code(500).send(serverError(request, 'INTERNAL'));
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  const error = new NovaError('NOT_FOUND', `no route ${request.method} ${pathOf(request.url)}`);
  return reply.code(404).send({ error: error.toJSON() });
}

export function frameworkErrors(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
) {
  const status = error.statusCode ?? 400;
  const message =
    error.code === 'FST_ERR_BAD_URL'
      ? 'the URL is not valid: malformed percent-encoding'
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'a path segment of the URL is too long'
        : error.message;
  return reply.code(status).send(refusal(status, message, 'url'));
}

const CLIENT_ERRORS: Record<string, { status: number; message: string; field?: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    message: 'the request line and headers exceed the size limit',
    field: 'headers',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    message: 'the request was not received within the request timeout',
  },
};

export function clientErrorHandler(
  this: FastifyInstance,
  error: NodeJS.ErrnoException,
  socket: Duplex,
) {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, message, field } = CLIENT_ERRORS[error.code ?? ''] ?? {
    status: 400,
    message: 'malformed HTTP request',
  };
  this.log.debug({ code: error.code }, 'client error');
  // As Node's own handler does: never write into a response already under way (pipelining).
  const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inProgress?.headersSent) {
    const body = JSON.stringify(refusal(status, message, field));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** Requests arriving once the service has begun to stop: 503, and the connection closed. */
export function refuseWhileClosing(app: FastifyInstance) {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  const stopping = new NovaError('UNAVAILABLE', 'the service is stopping; retry elsewhere');
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    reply.code(503).header('connection', 'close').send({ error: stopping.toJSON() });
  });
}
