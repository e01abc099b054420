/**
 * What the service and the one-shot steps are told, as environment variables named as
 * src/config.ts reads them. One function decides all three, so they cannot drift apart:
 * - the service: the application's own users in PostgreSQL (an application role, never the
 *   owner), MongoDB and Elasticsearch;
 * - bootstrap: also the administrators (PostgreSQL's owner, for migrations and the
 *   application role; MongoDB root; the `elastic` superuser) and kibana_system's password,
 *   to create users and set passwords;
 * - reindex: PostgreSQL's application role and Elasticsearch's administrator (it makes and
 *   swaps indices);
 * - dashboards: Kibana, logged in as `elastic` (saved objects and the default data view need
 *   Kibana privileges the application's user does not have).
 *
 * Values that are secrets stay Pulumi secrets here; the callers keep them so.
 */
import * as pulumi from '@pulumi/pulumi';
import {
  APP_USER,
  ELASTIC_ADMIN_USER,
  KIBANA_CONTAINER,
  MONGO_ROOT_USER,
  OTEL_COLLECTOR_CONTAINER,
} from './names.js';
import type { StackSettings } from './settings.js';

/**
 * Where ELASTIC_CA_FILE points inside the service's and the bootstrap step's container: a
 * directory the image has (`docker cp` does not make parents).
 */
export const ELASTIC_CA_PATH = '/tmp/elastic-ca.crt';
/** Kibana on the stack network. */
const KIBANA_URL = `http://${KIBANA_CONTAINER}:5601`;
/** The OpenTelemetry Collector's OTLP/HTTP endpoint on the stack network, when enabled. */
export const COLLECTOR_ENDPOINT = `http://${OTEL_COLLECTOR_CONTAINER}:4318`;

export interface StackEndpoints {
  /** postgresql://… as the application role, with its password: a secret. */
  databaseUrl: pulumi.Input<string>;
  /** The same as the schema's owner: the bootstrap's only; a secret. */
  databaseOwnerUrl: pulumi.Input<string>;
  mongo: {
    hosts: string;
    rootPassword: pulumi.Input<string>;
    appPassword: pulumi.Input<string>;
  };
  elastic: {
    url: pulumi.Input<string>;
    adminPassword: pulumi.Input<string>;
    appPassword: pulumi.Input<string>;
  };
  kibanaSystemPassword: pulumi.Input<string>;
}

export type Environment = Record<string, pulumi.Input<string>>;

/** Names whose values are secrets; the callers wrap these, and tests check they did. */
export const SECRET_VARIABLES = new Set([
  'DATABASE_URL',
  'DATABASE_OWNER_URL',
  'MONGO_PASSWORD',
  'MONGO_ADMIN_PASSWORD',
  'ELASTIC_PASSWORD',
  'ELASTIC_ADMIN_PASSWORD',
  'KIBANA_SYSTEM_PASSWORD',
  'KIBANA_PASSWORD',
]);

/**
 * A MongoDB connection string for the stack network: the seed list, the replica set, and
 * optionally a user (credentials are Inputs: the result stays secret when they are).
 */
export function mongoUrl(
  settings: StackSettings,
  hosts: string,
  login?: { user: string; password: pulumi.Input<string>; database: string; authSource?: string },
): pulumi.Input<string> {
  const options = `replicaSet=${settings.mongo.replicaSet}`;
  if (!login) return `mongodb://${hosts}/?${options}`;
  const auth = login.authSource ? `&authSource=${login.authSource}` : '';
  return pulumi.interpolate`mongodb://${login.user}:${login.password}@${hosts}/${login.database}?${options}${auth}`;
}

export function serviceEnvironment(
  settings: StackSettings,
  endpoints: StackEndpoints,
  role: 'service' | 'bootstrap' | 'reindex' | 'dashboards',
): Environment {
  const { mongo, elastic } = endpoints;
  const admin: Environment = {
    ELASTIC_ADMIN_USERNAME: ELASTIC_ADMIN_USER,
    ELASTIC_ADMIN_PASSWORD: elastic.adminPassword,
  };
  if (role === 'dashboards') {
    return {
      KIBANA_URL,
      KIBANA_USERNAME: ELASTIC_ADMIN_USER,
      KIBANA_PASSWORD: elastic.adminPassword,
    };
  }
  if (role === 'reindex') {
    return {
      DATABASE_URL: endpoints.databaseUrl,
      ELASTIC_URL: elastic.url,
      ELASTIC_CA_FILE: ELASTIC_CA_PATH,
      ...admin,
    };
  }
  const app: Environment = {
    DATABASE_URL: endpoints.databaseUrl,
    MONGO_URL: mongoUrl(settings, mongo.hosts),
    MONGO_USER: APP_USER,
    MONGO_PASSWORD: mongo.appPassword,
    ELASTIC_URL: elastic.url,
    ELASTIC_USERNAME: APP_USER,
    ELASTIC_PASSWORD: elastic.appPassword,
    ELASTIC_CA_FILE: ELASTIC_CA_PATH,
  };
  if (role === 'bootstrap') {
    return {
      ...app,
      DATABASE_OWNER_URL: endpoints.databaseOwnerUrl,
      MONGO_ADMIN_USER: MONGO_ROOT_USER,
      MONGO_ADMIN_PASSWORD: mongo.rootPassword,
      ...admin,
      KIBANA_SYSTEM_PASSWORD: endpoints.kibanaSystemPassword,
    };
  }
  return {
    ...app,
    KIBANA_URL,
    NOVA_HTTP_HOST: '0.0.0.0',
    NOVA_HTTP_PORT: '3000',
    OTEL_SERVICE_NAME: 'nova-api',
    // Production head sampling: a tenth of the requests no caller decided for (the caller's
    // choice when it sent a traceparent). An unsampled request costs far less than a traced
    // one, and its log lines carry no trace ids (docs/service.md, OpenTelemetry).
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: String(settings.service.traceSampleRatio),
    // Without a collector: /metrics for Prometheus, and no traces (nowhere to send them).
    ...(settings.extras.otelCollector ? { OTEL_EXPORTER_OTLP_ENDPOINT: COLLECTOR_ENDPOINT } : {}),
  };
}
