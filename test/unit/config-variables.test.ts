/**
 * The list of variables (src/config-variables.ts) is the parser's own: every variable
 * loadConfig or the telemetry exporters read is in it, every one in it is read, and its
 * samples parse. The variables are found by running the parsers over a recording environment,
 * not by reading their source.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { VARIABLES, type Variable } from '../../src/config-variables.js';
import { exportersFor } from '../../src/telemetry/exporters.js';

type Env = Record<string, string | undefined>;

/** `values` as an environment that records every name asked of it. */
function recording(values: Env, asked: Set<string>): Env {
  return new Proxy(values, {
    get(target, name) {
      if (typeof name === 'string') asked.add(name);
      return Reflect.get(target, name);
    },
    has(target, name) {
      if (typeof name === 'string') asked.add(name);
      return Reflect.has(target, name);
    },
  });
}

/** A valid value for every variable: its sample, its default, or one of the right kind. */
function sampleEnv(): Env {
  const env: Env = {};
  for (const [name, variable] of Object.entries(VARIABLES) as [string, Variable][]) {
    env[name] = String(
      variable.example ?? variable.default ?? (variable.secret ? 'a-long-secret-value-42' : 'x'),
    );
  }
  env.KIBANA_USERNAME = 'kibana-reader';
  return env;
}

/** The environments that between them take every branch: logins or API keys, URL or parts. */
function variants(): Env[] {
  const all = sampleEnv();
  const without = (...names: string[]) =>
    Object.fromEntries(Object.entries(all).filter(([name]) => !names.includes(name)));
  return [
    without('ELASTIC_API_KEY', 'KIBANA_API_KEY'),
    without(
      'ELASTIC_USERNAME',
      'ELASTIC_PASSWORD',
      'KIBANA_USERNAME',
      'KIBANA_PASSWORD',
      'DATABASE_URL',
      'NOVA_HTTP_PORT',
    ),
    // The exporters read the endpoints only when no exporter list decides, and the general
    // protocol only without a signal's own.
    without(
      'ELASTIC_API_KEY',
      'KIBANA_API_KEY',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_METRICS_EXPORTER',
      'OTEL_TRACES_EXPORTER',
      'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
      'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL',
    ),
  ];
}

/** Read by the OpenTelemetry SDK or the CLI, not by loadConfig or exportersFor. */
const READ_ELSEWHERE = {
  OTEL_TRACES_SAMPLER: 'the SDK',
  OTEL_TRACES_SAMPLER_ARG: 'the SDK',
  OTEL_SDK_DISABLED: 'src/telemetry/register.ts',
  NOVA_TOKEN: 'src/cli.ts (nova smoke)',
};

describe('src/config-variables.ts', () => {
  const asked = new Set<string>();
  for (const env of variants()) {
    loadConfig(recording(env, asked));
    exportersFor(recording(env, asked));
  }
  const listed = Object.keys(VARIABLES);

  it('names every variable the parsers read', () => {
    expect(asked.size).toBeGreaterThan(60);
    expect([...asked].filter((name) => !listed.includes(name))).toEqual([]);
  });

  it('names no variable nothing reads', () => {
    const unread = listed.filter((name) => !asked.has(name));
    expect(unread.sort()).toEqual(Object.keys(READ_ELSEWHERE).sort());
  });

  it('has samples that parse, and defaults the parser applies', () => {
    const config = loadConfig({ DATABASE_URL: 'postgresql://u:p@127.0.0.1/db' });
    expect(config.postgres?.poolSize).toBe(VARIABLES.POSTGRES_POOL_SIZE.default);
    expect(config.service.port).toBe(VARIABLES.NOVA_HTTP_PORT.default);
    expect(config.service.authCache?.ttlMs).toBe(VARIABLES.NOVA_AUTH_CACHE_TTL_MS.default);
    expect(config.telemetry.serviceName).toBe(VARIABLES.OTEL_SERVICE_NAME.default);
  });

  it('refuses a value outside the range the docs print, naming the variable', () => {
    expect(() =>
      loadConfig({ DATABASE_URL: 'postgresql://u:p@127.0.0.1/db', POSTGRES_POOL_SIZE: '501' }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'POSTGRES_POOL_SIZE' }));
  });
});
