/**
 * What the service and the one-shot Jobs are told on Kubernetes, as src/config.ts reads it:
 * the same roles as the Docker stack's (../environment.ts), with every credential taken from
 * a Secret by reference (`secretKeyRef`), never written into a manifest. Connection strings
 * are put together by Kubernetes from those references (`$(NAME)` refers to a variable
 * defined earlier in the same list), so the passwords stay in their Secrets.
 *
 * TLS everywhere the operators serve it: PostgreSQL verified against CloudNativePG's CA
 * (verify-full), Elasticsearch against ECK's HTTP CA, Kibana against its own (Node reads
 * NODE_EXTRA_CA_CERTS for the dashboards Job's fetch), MongoDB when nova:mongoTls is on.
 */
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { APP_USER, ELASTIC_ADMIN_USER } from '../names.js';
import {
  ELASTIC_ADMIN_SECRET,
  ELASTIC_CA_SECRET,
  elasticHost,
  KIBANA_CA_SECRET,
  kibanaHost,
  MONGO_ADMIN_USER,
  MONGO_RESOURCE,
  mongoMemberHost,
  POSTGRES_CA_SECRET,
  POSTGRES_OWNER_SECRET,
  postgresHost,
  SERVICE_PORT,
  USER_SECRETS,
} from './names.js';
import type { KubernetesSettings } from './settings.js';

export type Role = 'service' | 'bootstrap' | 'reindex' | 'dashboards';

/** Where each CA is mounted (read-only, from the operators' Secrets). */
const CA_DIR = '/etc/nova/ca';
const CAS = {
  postgres: { secret: POSTGRES_CA_SECRET, file: `${CA_DIR}/postgres/ca.crt` },
  elastic: { secret: ELASTIC_CA_SECRET, file: `${CA_DIR}/elasticsearch/ca.crt` },
  kibana: { secret: KIBANA_CA_SECRET, file: `${CA_DIR}/kibana/ca.crt` },
  /** nova:mongoTls: the CA the user's certificate Secret holds (see mongoTlsSecrets). */
  mongo: { secret: `${MONGO_RESOURCE}-ca`, file: `${CA_DIR}/mongodb/ca.crt` },
} as const;
type Ca = keyof typeof CAS;

const secretRef = (name: string, secret: string, key = 'password'): IEnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: secret, key } },
});
const plain = (name: string, value: string): IEnvVar => ({ name, value });

/** The PostgreSQL URL for a login whose password is in `$(passwordVariable)`. */
const postgresUrl = (settings: KubernetesSettings, user: string, passwordVariable: string) =>
  `postgresql://${user}:$(${passwordVariable})@${postgresHost}:5432/${settings.postgres.database}` +
  `?sslmode=verify-full&sslrootcert=${CAS.postgres.file}`;

function mongoUrl(settings: KubernetesSettings) {
  const hosts = Array.from({ length: settings.mongo.members }, (_, i) => mongoMemberHost(i));
  // The operator names the replica set after the resource.
  const tls = settings.mongo.tls ? '&tls=true' : '';
  return `mongodb://${hosts.join(',')}/?replicaSet=${MONGO_RESOURCE}${tls}`;
}

/** Which CAs a role's container mounts. */
export function casOf(settings: KubernetesSettings, role: Role): Ca[] {
  if (role === 'dashboards') return ['kibana'];
  if (role === 'reindex') return ['postgres', 'elastic'];
  const mongo = settings.mongo.tls ? (['mongo'] as const) : [];
  return role === 'service'
    ? ['postgres', 'elastic', 'kibana', ...mongo]
    : ['postgres', 'elastic', ...mongo];
}

export function caVolumes(cas: Ca[]): { volumes: IVolume[]; mounts: IVolumeMount[] } {
  return {
    volumes: cas.map((ca) => ({
      name: `${ca}-ca`,
      secret: { secretName: CAS[ca].secret, items: [{ key: 'ca.crt', path: 'ca.crt' }] },
    })),
    mounts: cas.map((ca) => ({
      name: `${ca}-ca`,
      mountPath: `${CA_DIR}/${ca === 'elastic' ? 'elasticsearch' : ca === 'mongo' ? 'mongodb' : ca}`,
      readOnly: true,
    })),
  };
}

export function environment(settings: KubernetesSettings, role: Role): IEnvVar[] {
  const elasticAdmin = [
    plain('ELASTIC_ADMIN_USERNAME', ELASTIC_ADMIN_USER),
    secretRef('ELASTIC_ADMIN_PASSWORD', ELASTIC_ADMIN_SECRET, ELASTIC_ADMIN_USER),
  ];
  const elastic = [
    plain('ELASTIC_URL', `https://${elasticHost}:9200`),
    plain('ELASTIC_CA_FILE', CAS.elastic.file),
  ];
  const appDatabase = [
    secretRef('NOVA_POSTGRES_APP_PASSWORD', USER_SECRETS.postgresApp),
    plain('DATABASE_URL', postgresUrl(settings, APP_USER, 'NOVA_POSTGRES_APP_PASSWORD')),
  ];
  if (role === 'dashboards') {
    return [
      plain('KIBANA_URL', `https://${kibanaHost}:5601`),
      plain('KIBANA_USERNAME', ELASTIC_ADMIN_USER),
      secretRef('KIBANA_PASSWORD', ELASTIC_ADMIN_SECRET, ELASTIC_ADMIN_USER),
      plain('NODE_EXTRA_CA_CERTS', CAS.kibana.file),
    ];
  }
  if (role === 'reindex') return [...appDatabase, ...elastic, ...elasticAdmin];
  const app = [
    ...appDatabase,
    plain('MONGO_URL', mongoUrl(settings)),
    plain('MONGO_USER', APP_USER),
    secretRef('MONGO_PASSWORD', USER_SECRETS.mongoApp),
    ...(settings.mongo.tls ? [plain('MONGO_TLS_CA_FILE', CAS.mongo.file)] : []),
    ...elastic,
    plain('ELASTIC_USERNAME', APP_USER),
    secretRef('ELASTIC_PASSWORD', USER_SECRETS.elasticApp),
  ];
  if (role === 'bootstrap') {
    return [
      ...app,
      // CloudNativePG's generated Secret for the initdb owner.
      secretRef('NOVA_POSTGRES_OWNER_PASSWORD', POSTGRES_OWNER_SECRET),
      plain(
        'DATABASE_OWNER_URL',
        postgresUrl(settings, settings.postgres.owner, 'NOVA_POSTGRES_OWNER_PASSWORD'),
      ),
      plain('MONGO_ADMIN_USER', MONGO_ADMIN_USER),
      secretRef('MONGO_ADMIN_PASSWORD', USER_SECRETS.mongoAdmin),
      ...elasticAdmin,
    ];
  }
  return [
    ...app,
    plain('KIBANA_URL', `https://${kibanaHost}:5601`),
    plain('NODE_EXTRA_CA_CERTS', CAS.kibana.file),
    plain('NOVA_HTTP_HOST', '0.0.0.0'),
    plain('NOVA_HTTP_PORT', String(SERVICE_PORT)),
    plain('OTEL_SERVICE_NAME', 'nova-api'),
    // Production head sampling, as on the Docker stack (docs/service.md, OpenTelemetry).
    plain('OTEL_TRACES_SAMPLER', 'parentbased_traceidratio'),
    plain('OTEL_TRACES_SAMPLER_ARG', String(settings.service.traceSampleRatio)),
  ];
}
