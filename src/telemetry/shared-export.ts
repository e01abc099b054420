/**
 * OTLP metrics pushed from the Prometheus reader's own collection, when both are wanted and
 * the OTLP exporter asks for what that reader keeps (cumulative sums and the default
 * aggregations, the OTLP exporters' default).
 *
 * Why: every MetricReader gets its own storage, so a second reader (the SDK's
 * PeriodicExportingMetricReader) makes every measurement be aggregated twice: the attributes
 * hashed and looked up, the histogram bucket found, once per reader, on the path of every
 * request or query that records one. One aggregation read by both costs nothing more.
 *
 * It keeps PeriodicExportingMetricReader's behaviour: every 60 s, no overlapping exports, a
 * 30 s timeout per export, the resource's late attributes waited for, the export untraced, a
 * final export at shutdown, then the exporter's shutdown.
 */
import { context, diag } from '@opentelemetry/api';
import { ExportResultCode, suppressTracing } from '@opentelemetry/core';
import {
  AggregationTemporality,
  AggregationType,
  InstrumentType,
  type MetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';

const INTERVAL_MS = 60_000;
const TIMEOUT_MS = 30_000;

/** Whether `exporter` asks, for every instrument, what a Prometheus reader keeps. */
export function sharesPrometheusAggregation(exporter: PushMetricExporter): boolean {
  return Object.values(InstrumentType).every(
    (type) =>
      (exporter.selectAggregationTemporality?.(type) ?? AggregationTemporality.CUMULATIVE) ===
        AggregationTemporality.CUMULATIVE &&
      (exporter.selectAggregation?.(type).type ?? AggregationType.DEFAULT) ===
        AggregationType.DEFAULT,
  );
}

export interface SharedExport {
  /** Collects from the reader and exports once (skipped while one is running). */
  exportOnce(): Promise<void>;
  /**
   * Stops the timer and collects the last metrics now, while the reader is still bound;
   * `exported` settles once they are sent and the exporter is shut down, so the caller can
   * let that run beside the rest of its shutdown.
   */
  stop(): Promise<{ exported: Promise<void> }>;
}

type Result = { code: ExportResultCode; error?: Error };

export function exportFromReader(
  reader: MetricReader,
  exporter: PushMetricExporter,
  { intervalMs = INTERVAL_MS, timeoutMs = TIMEOUT_MS } = {},
): SharedExport {
  let running: Promise<void> | undefined;
  const collect = async () => {
    const { resourceMetrics, errors } = await reader.collect({ timeoutMillis: timeoutMs });
    if (errors.length > 0) diag.error('metrics collection errors', ...errors);
    // As the SDK's periodic reader does: attributes a detector finds later (host.id) are
    // waited for, else the export would go without them.
    if (resourceMetrics.resource.asyncAttributesPending) {
      await resourceMetrics.resource.waitForAsyncAttributes?.().catch((error: unknown) => {
        diag.debug('resource attributes not resolved', error);
      });
    }
    return resourceMetrics;
  };
  const send = async (resourceMetrics: Awaited<ReturnType<typeof collect>>) => {
    if (resourceMetrics.scopeMetrics.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      // The export's own requests are not traced (nor would any instrumentation see them).
      new Promise<Result>((resolve) =>
        context.with(suppressTracing(context.active()), () =>
          exporter.export(resourceMetrics, resolve),
        ),
      ),
      new Promise<Result>((resolve) => {
        timer = setTimeout(
          () => resolve({ code: ExportResultCode.FAILED, error: new Error('timed out') }),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (result.code !== ExportResultCode.SUCCESS) {
      diag.error(`metrics export failed: ${result.error?.message ?? 'unknown error'}`);
    }
  };
  const logged = (work: Promise<void>) =>
    work.catch((error: unknown) => diag.error('metrics export failed', error));
  const exportOnce = async () => {
    if (running !== undefined) return;
    running = logged(collect().then(send));
    try {
      await running;
    } finally {
      running = undefined;
    }
  };
  const interval = setInterval(() => void exportOnce(), intervalMs);
  interval.unref();
  return {
    exportOnce,
    async stop() {
      clearInterval(interval);
      await running;
      const last = await collect().catch((error: unknown) => {
        diag.error('metrics collection failed', error);
        return undefined;
      });
      const exported = logged(
        (last ? send(last) : Promise.resolve()).then(() => exporter.shutdown()),
      );
      return { exported };
    },
  };
}
