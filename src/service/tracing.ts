/**
 * One SERVER span per request, made by the service itself through @opentelemetry/api: with
 * the SDK (the --import preload) it is sampled and exported, without it the API's no-op
 * tracer makes it cost next to nothing.
 *
 * Why not @fastify/otel: it made an unsampled request cost about 15 µs more than no tracing
 * at all (`npm run bench:http`, 10 % sampled at 0.35 of a bare server against 0.64 without
 * OpenTelemetry), because it adds an onSend and an onError hook to every route (Fastify then
 * takes its slower send path), adds properties to each request object after it was made
 * (changing its shape request by request) and builds the span's attributes before the
 * sampler decides. Here:
 *
 * - the span starts in onRequest, continuing an incoming trace context (any propagator the
 *   SDK was given: traceparent by default), named `METHOD route` as HTTP semantic
 *   conventions ask; the rest of the request (authentication, handler, their PostgreSQL,
 *   MongoDB and Elasticsearch client spans) runs in its context;
 * - the sampler sees the method and the route; the other attributes (url.path without the
 *   query string, which carries search text; the scheme; the protocol version; the status
 *   code) are set only on a span that records;
 * - it ends in the onResponse hook the service's metrics already use, so it spans the whole
 *   answer; a 5xx sets the ERROR status and error.type, and the error handler records the
 *   error behind one (its message, type and an exception event);
 * - probes and scrapes opt out by route (UNTRACED): a trace per probe would bury the
 *   requests worth reading.
 *
 * A request whose client leaves before the answer is written has no onResponse, so it has
 * no span, as it has no duration metric: the service's own log line still records it.
 *
 * Log lines written in a sampled trace carry its context (trace_id, span_id, trace_flags), so
 * the trace behind a line, and the lines of a trace, can be found: the access line from the
 * request's own span, other lines through a pino mixin reading the active span. Lines of an
 * unsampled request carry none: no trace of theirs exists to find, and the fields cost
 * about a tenth of a cheap request (their reqId still groups them). The telemetry events
 * (api_usage, performance_metrics) follow the same rule for their traceId. This replaces
 * @opentelemetry/instrumentation-pino, which added them to every line and made every line
 * copy itself into a fresh object.
 */
import {
  context,
  isSpanContextValid,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { pathOf } from './path.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's SERVER span; undefined for untraced routes. */
    span: Span | undefined;
  }
  interface FastifyContextConfig {
    /** false: this route makes no span (probes and scrapes). */
    traced?: boolean;
  }
}

/** Spans whose 5xx came from an error, already recorded with its message and type. */
const errored = new WeakSet<Span>();

/** Route options of probes and scrapes: no span, however often they are asked. */
export const UNTRACED = { config: { traced: false } } as const;

export function traceRequests(app: FastifyInstance): void {
  const tracer = trace.getTracer('nova-service');
  // Declared up front, like `principal`, so every request has one shape.
  app.decorateRequest('span', undefined);

  app.addHook('onRequest', (request, _reply, done) => {
    if (request.routeOptions.config.traced === false) return done();
    let parent = context.active();
    if (trace.getSpan(parent) === undefined) parent = propagation.extract(parent, request.headers);
    const method = request.method;
    const route = request.routeOptions.url;
    const span = tracer.startSpan(
      route === undefined ? method : `${method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes:
          route === undefined
            ? { 'http.request.method': method }
            : { 'http.request.method': method, 'http.route': route },
      },
      parent,
    );
    if (span.isRecording()) {
      span.setAttributes({
        'url.path': pathOf(request.url),
        'url.scheme': request.protocol,
        'network.protocol.version': request.raw.httpVersion,
      });
    }
    request.span = span;
    // Without the SDK the API's no-op tracer makes a span with no valid context: there is
    // nothing for the request's context to carry, so it is not copied for it.
    if (!isSpanContextValid(span.spanContext())) return done();
    context.with(trace.setSpan(parent, span), done);
  });
}

/** A 5xx's cause on the request's span, from the error handler: the status, type and event. */
export function recordServerError(span: Span | undefined, error: Error & { code?: string }) {
  if (!span?.isRecording()) return;
  span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  span.setAttribute('error.type', error.code ?? error.name);
  errored.add(span);
}

/** Ends the request's span, from the service's onResponse hook. */
export function endRequestSpan(span: Span | undefined, status: number): void {
  if (span === undefined) return;
  if (span.isRecording()) {
    span.setAttribute('http.response.status_code', status);
    if (status >= 500 && !errored.has(span)) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute('error.type', String(status));
    }
  }
  span.end();
}

/** The trace context fields of a log line; undefined values are left out of the line. */
export interface TraceFields {
  trace_id: string | undefined;
  span_id: string | undefined;
  trace_flags: string | undefined;
}

const NO_TRACE: Readonly<TraceFields> = Object.freeze({
  trace_id: undefined,
  span_id: undefined,
  trace_flags: undefined,
});

/** A sampled span's trace context as log fields; NO_TRACE for any other (or none). */
export function traceFields(span: Span | undefined): Readonly<TraceFields> {
  if (span === undefined) return NO_TRACE;
  const spanContext = span.spanContext();
  if (!(spanContext.traceFlags & TraceFlags.SAMPLED) || !isSpanContextValid(spanContext)) {
    return NO_TRACE;
  }
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId, trace_flags: '01' };
}

/** Nothing to add: the merge strategy then logs the caller's object as it is, uncopied. */
const NOTHING = Object.freeze({});

/**
 * pino options that give every line the trace context it was written in. A line that names
 * its own (the access line, with `trace_id` present, even undefined) is left alone.
 */
export const logCorrelation = {
  mixin(line: object): object {
    if ('trace_id' in line) return NOTHING;
    const fields = traceFields(trace.getActiveSpan());
    return fields === NO_TRACE ? NOTHING : fields;
  },
  mixinMergeStrategy(line: object, fields: object): object {
    return fields === NOTHING ? line : Object.assign(fields, line);
  },
};
