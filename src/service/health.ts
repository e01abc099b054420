/**
 * The service's view of its dependencies, for /api/health and /readyz.
 *
 * Every dependency is probed through a CachedProbe (at most once per interval, however many
 * callers), and a probe that throws is reported down rather than failing the report.
 * PostgreSQL is required: down means the service is down (HTTP 503). MongoDB, Elasticsearch,
 * the indexer and Kibana are optional: their trouble makes the service degraded, still 200, since
 * tickets and the knowledge base keep working from PostgreSQL.
 *
 * Public reports carry status and latency only; versions, hosts, replica-set members and
 * error texts (which name hosts) are for callers with health:details.
 */
import { settleBy } from '../lib/deadline.js';
import { untraced } from '../telemetry/untraced.js';
import { CachedProbe } from './probe.js';

export type DependencyStatus = 'up' | 'degraded' | 'down' | 'not_configured';

/** What a source returns: a status, a latency, and anything else (shown as details). */
export interface ProbeResult {
  status: Exclude<DependencyStatus, 'not_configured'>;
  latencyMs?: number;
  error?: string;
}

export interface DependencyReport {
  status: DependencyStatus;
  required: boolean;
  latencyMs?: number;
  /** With health:details only. */
  details?: Record<string, unknown>;
}

export interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  checks: Record<string, DependencyReport>;
}

export interface HealthSource {
  name: string;
  required: boolean;
  /** Absent: the dependency is not configured. */
  probe?: () => Promise<ProbeResult>;
}

export interface HealthOptions {
  /** How long a probe result is reused (default 5 s). */
  intervalMs?: number;
  /**
   * How long a probe may take before its dependency is reported down (default 2 s): an
   * unreachable cluster must not hold /api/health, /readyz or /metrics for its client's own
   * timeouts and retries.
   */
  probeTimeoutMs?: number;
  /** The clock probe results age by (tests move it by hand). */
  now?: () => number;
  /**
   * Called when a dependency's probed status differs from its previous probe's, and for its
   * first probe (previous undefined): once per change, however many requests read the report.
   */
  onStatusChange?: (change: StatusChange) => void;
}

export interface StatusChange {
  name: string;
  status: ProbeResult['status'];
  previous: ProbeResult['status'] | undefined;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 2000;

/** A source and its cached probe (none: not configured). */
interface Probed {
  source: HealthSource;
  probe?: CachedProbe<ProbeResult>;
}

/** Which report: with details (health:details), and of the required dependencies only. */
export interface ReportView {
  details: boolean;
  requiredOnly?: boolean;
}

export class HealthService {
  readonly #sources: Probed[];
  /** The required ones, for readiness (chosen once, not per request). */
  readonly #required: Probed[];
  /** The last report per view, with the probe results it was built from. */
  readonly #reports = new Map<
    string,
    { results: (ProbeResult | undefined)[]; report: HealthReport }
  >();

  constructor(
    sources: HealthSource[],
    {
      intervalMs = 5000,
      probeTimeoutMs = DEFAULT_PROBE_TIMEOUT_MS,
      now,
      onStatusChange,
    }: HealthOptions = {},
  ) {
    this.#sources = sources.map((source) => {
      if (!source.probe) return { source };
      let probe = safely(source.probe, probeTimeoutMs);
      if (onStatusChange) probe = watched(source.name, probe, onStatusChange);
      return { source, probe: new CachedProbe(probe, intervalMs, now) };
    });
    this.#required = this.#sources.filter(({ source }) => source.required);
  }

  /** Probe runs so far per dependency (tests and the benchmark check the single flight). */
  probeRuns(): Record<string, number> {
    return Object.fromEntries(
      this.#sources.map(({ source, probe }) => [source.name, probe?.runs ?? 0]),
    );
  }

  /** `requiredOnly`: probe only the required dependencies (readiness). */
  async report(view: ReportView): Promise<HealthReport> {
    const sources = view.requiredOnly ? this.#required : this.#sources;
    return (
      this.current(view) ??
      this.#reportFor(view, sources, await Promise.all(sources.map(({ probe }) => probe?.get())))
    );
  }

  /**
   * The report from the probes' fresh results, without waiting, or undefined when a probe has
   * to run first. An unchanged set of results gives the same report object.
   */
  current(view: ReportView): HealthReport | undefined {
    const sources = view.requiredOnly ? this.#required : this.#sources;
    const fresh = sources.map(({ probe }) => probe?.fresh());
    if (!sources.every(({ probe }, i) => !probe || fresh[i] !== undefined)) return undefined;
    return this.#reportFor(view, sources, fresh);
  }

  /** The report of `sources` (the view's) from their `results`, the last one if unchanged. */
  #reportFor(
    { details, requiredOnly = false }: ReportView,
    sources: Probed[],
    results: (ProbeResult | undefined)[],
  ): HealthReport {
    const key = details
      ? requiredOnly
        ? 'details/required'
        : 'details'
      : requiredOnly
        ? 'required'
        : 'summary';
    const last = this.#reports.get(key);
    if (last?.results.every((result, i) => result === results[i])) return last.report;
    const report = this.#build(sources, results, details);
    this.#reports.set(key, { results, report });
    return report;
  }

  #build(
    sources: { source: HealthSource }[],
    results: (ProbeResult | undefined)[],
    details: boolean,
  ): HealthReport {
    const checks: Record<string, DependencyReport> = {};
    let status: HealthReport['status'] = 'ok';
    for (const [i, { source }] of sources.entries()) {
      const result = results[i];
      if (!result) {
        checks[source.name] = { status: 'not_configured', required: source.required };
        continue;
      }
      const { status: state, latencyMs, ...rest } = result;
      checks[source.name] = {
        status: state,
        required: source.required,
        ...(latencyMs === undefined ? {} : { latencyMs }),
        ...(details ? { details: rest as Record<string, unknown> } : {}),
      };
      if (state === 'down' && source.required) status = 'down';
      else if (state !== 'up' && status === 'ok') status = 'degraded';
    }
    return { status, checks };
  }
}

/**
 * The probe, reporting each change of its status. A listener that throws must not turn the
 * dependency's report into a failed /api/health: its error becomes a process warning.
 */
function watched(
  name: string,
  probe: () => Promise<ProbeResult>,
  onStatusChange: (change: StatusChange) => void,
): () => Promise<ProbeResult> {
  let previous: ProbeResult['status'] | undefined;
  return async () => {
    const result = await probe();
    if (result.status !== previous) {
      const change = { name, status: result.status, previous };
      previous = result.status;
      try {
        onStatusChange(change);
      } catch (error) {
        process.emitWarning(
          `reporting ${name}'s status change failed: ${(error as Error).message}`,
        );
      }
    }
    return result;
  };
}

/** A probe never rejects: a thrown error, or no answer within `timeoutMs`, is down. */
const safely =
  (probe: () => Promise<ProbeResult>, timeoutMs: number) => async (): Promise<ProbeResult> => {
    const started = performance.now();
    const down = (error: string): ProbeResult => ({
      status: 'down',
      latencyMs: Math.round(performance.now() - started),
      error,
    });
    try {
      const result = await settleBy(Date.now() + timeoutMs, untraced(probe));
      return result ?? down(`no answer within ${timeoutMs} ms`);
    } catch (error) {
      return down((error as Error).message);
    }
  };
