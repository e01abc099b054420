/**
 * The stack's settings, read from Pulumi config (`nova:*` keys) into one checked object
 * before any resource is made: a configuration that cannot work (two MongoDB members, a heap
 * larger than half its container's memory, a floating image tag, a port on every interface
 * without saying so) stops `pulumi up` with one error naming the key, not halfway through.
 *
 * Pure: index.ts passes `pulumi.Config` values in; tests pass plain objects.
 */
import { SettingsError } from './errors.js';
import { DEFAULT_IMAGES, type ImageName, pinnedImage } from './images.js';
import { APP_USER, mongoMemberPort } from './names.js';

export interface StackSettings {
  /** Where published ports bind: 127.0.0.1 unless `nova:bindAddress` says otherwise. */
  bindAddress: string;
  images: Record<ImageName, string>;
  postgres: { memoryMb: number; database: string; user: string };
  /** hostAccess: each member published on its own port, for clients on the operator's machine. */
  mongo: { members: 1 | 3; memoryMb: number; replicaSet: string; hostAccess: boolean };
  elastic: { nodes: 1 | 3; memoryMb: number; heapMb: number };
  kibana: { memoryMb: number; port: number };
  /**
   * traceSampleRatio: the share of requests traced when no caller decided (the service's
   * sampler is parent-based: an incoming traceparent's choice is kept).
   */
  service: { memoryMb: number; port: number; traceSampleRatio: number };
  /** The design's management UIs and an OpenTelemetry Collector; all off by default. */
  extras: { pgAdmin: boolean; mongoExpress: boolean; otelCollector: boolean };
  /** The extras' sizes and published ports (read whether or not they are enabled). */
  pgAdmin: { memoryMb: number; port: number };
  mongoExpress: { memoryMb: number; port: number };
  otelCollector: { memoryMb: number };
}

/** The memory limit of each one-shot step (bootstrap, reindex), which runs beside the stack. */
export const ONE_SHOT_MEMORY_MB = 512;

/** Raw config values as Pulumi hands them over: strings, or absent. */
export type RawSettings = Record<string, string | undefined>;

export const int = (raw: RawSettings, key: string, fallback: number, min: number, max: number) => {
  const value = raw[key];
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new SettingsError(`nova:${key}`, `must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
};

/** A fraction from 0 to 1, written as a decimal (0.1, 1, 0). */
export const ratio = (raw: RawSettings, key: string, fallback: number) => {
  const value = raw[key];
  if (value === undefined || value === '') return fallback;
  if (!/^(0|1)(\.\d+)?$/.test(value) || Number(value) > 1) {
    throw new SettingsError(`nova:${key}`, 'must be a decimal from 0 to 1, e.g. 0.1');
  }
  return Number(value);
};

export const flag = (raw: RawSettings, key: string) => {
  const value = raw[key];
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new SettingsError(`nova:${key}`, 'must be true or false');
};

export const oneOrThree = (raw: RawSettings, key: string, what: string): 1 | 3 => {
  const count = int(raw, key, 3, 1, 99);
  if (count !== 1 && count !== 3) {
    throw new SettingsError(
      `nova:${key}`,
      `${what} must be 1 or 3 (an even count cannot keep a majority through the loss of one)`,
    );
  }
  return count;
};

export const name = (raw: RawSettings, key: string, fallback: string) => {
  const value = raw[key] || fallback;
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(value)) {
    throw new SettingsError(`nova:${key}`, 'must be lower-case letters, digits and _');
  }
  return value;
};

/** The schema owner's login: anything but the application role's, which the service uses. */
export const ownerName = (raw: RawSettings) => {
  const user = name(raw, 'postgresUser', 'nova');
  if (user === APP_USER) {
    throw new SettingsError(
      'nova:postgresUser',
      `must not be ${APP_USER}, the service's own login`,
    );
  }
  return user;
};

export type Platform = 'docker' | 'kubernetes';

/**
 * `nova:platform`: where the program puts the data tier, local Docker (the default) or a
 * Kubernetes cluster (infra/k8s/); and the other keys, for that platform's settings to read.
 */
export function splitPlatform(raw: RawSettings): { platform: Platform; rest: RawSettings } {
  const { platform = 'docker', ...rest } = raw;
  if (platform !== 'docker' && platform !== 'kubernetes') {
    throw new SettingsError('nova:platform', 'must be docker or kubernetes');
  }
  return { platform, rest };
}

/** Every `nova:*` key the program reads: any other is a typo, refused rather than ignored. */
export const SETTING_KEYS: readonly string[] = [
  'bindAddress',
  'allowPublicBind',
  ...Object.keys(DEFAULT_IMAGES).map((image) => `${image}Image`),
  'postgresMemoryMb',
  'postgresDatabase',
  'postgresUser',
  'mongoMembers',
  'mongoMemoryMb',
  'mongoReplicaSet',
  'mongoHostAccess',
  'elasticNodes',
  'elasticMemoryMb',
  'elasticHeapMb',
  'kibanaMemoryMb',
  'kibanaPort',
  'serviceMemoryMb',
  'servicePort',
  'traceSampleRatio',
  'pgAdmin',
  'mongoExpress',
  'otelCollector',
  'pgAdminMemoryMb',
  'pgAdminPort',
  'mongoExpressMemoryMb',
  'mongoExpressPort',
  'otelCollectorMemoryMb',
];

/** Refuses the first key `known` lacks, suggesting the one it differs from only in case. */
export function refuseUnknownKeys(raw: RawSettings, known: readonly string[], where: string) {
  const unknown = Object.keys(raw).find((key) => !known.includes(key));
  if (!unknown) return;
  const near = known.find((key) => key.toLowerCase() === unknown.toLowerCase());
  throw new SettingsError(
    `nova:${unknown}`,
    near
      ? `is not a setting; did you mean nova:${near}?`
      : `is not a setting ${where} (infra/README.md lists them)`,
  );
}

/**
 * Elasticsearch's memory and heap: the heap half the memory by default, and never more, as
 * Elasticsearch needs the other half for the file-system cache and off-heap structures.
 */
export function elasticMemory(raw: RawSettings): { memoryMb: number; heapMb: number } {
  const memoryMb = int(raw, 'elasticMemoryMb', 2048, 512, 262_144);
  const heapMb = int(raw, 'elasticHeapMb', Math.floor(memoryMb / 2), 256, 131_072);
  if (heapMb > memoryMb / 2) {
    throw new SettingsError(
      'nova:elasticHeapMb',
      `${heapMb} MB is more than half of nova:elasticMemoryMb (${memoryMb} MB)`,
    );
  }
  return { memoryMb, heapMb };
}

export function readSettings(raw: RawSettings): StackSettings {
  refuseUnknownKeys(raw, SETTING_KEYS, 'of the Docker stack');
  const bindAddress = raw.bindAddress || '127.0.0.1';
  const octets = bindAddress.split('.');
  if (octets.length !== 4 || !octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255)) {
    throw new SettingsError('nova:bindAddress', 'must be an IPv4 address');
  }
  // Kibana, the service, MongoDB (nova:mongoHostAccess) and the extras answer in plain HTTP
  // or without TLS: fine on the loopback interface, not on a network. Until the stack serves
  // TLS itself, it publishes on loopback only; a TLS-terminating proxy on the host (or an SSH
  // tunnel) is the way to reach it from elsewhere (infra/README.md).
  const plaintext =
    'Kibana, the service and MongoDB would answer there without TLS (logins and tokens in clear): keep 127.0.0.1 and reach them through a TLS-terminating proxy or an SSH tunnel (infra/README.md, "From another machine")';
  if (flag(raw, 'allowPublicBind')) {
    throw new SettingsError('nova:allowPublicBind', `is refused: ${plaintext}`);
  }
  if (octets[0] !== '127') {
    throw new SettingsError(
      'nova:bindAddress',
      `${bindAddress} is not a loopback address: ${plaintext}`,
    );
  }
  const images: Record<ImageName, string> = { ...DEFAULT_IMAGES };
  for (const image of Object.keys(DEFAULT_IMAGES) as ImageName[]) {
    const key = `${image}Image`;
    const value = raw[key];
    if (value) images[image] = pinnedImage(value, `nova:${key}`);
  }
  const { memoryMb: elasticMemoryMb, heapMb } = elasticMemory(raw);
  const extras = {
    pgAdmin: flag(raw, 'pgAdmin'),
    mongoExpress: flag(raw, 'mongoExpress'),
    otelCollector: flag(raw, 'otelCollector'),
  };
  const settings: StackSettings = {
    bindAddress,
    images,
    postgres: {
      memoryMb: int(raw, 'postgresMemoryMb', 1024, 256, 262_144),
      database: name(raw, 'postgresDatabase', 'nova_universe'),
      user: ownerName(raw),
    },
    mongo: {
      members: oneOrThree(raw, 'mongoMembers', 'MongoDB replica-set members'),
      memoryMb: int(raw, 'mongoMemoryMb', 1024, 256, 262_144),
      replicaSet: name(raw, 'mongoReplicaSet', 'rs0'),
      hostAccess: flag(raw, 'mongoHostAccess'),
    },
    elastic: {
      nodes: oneOrThree(raw, 'elasticNodes', 'Elasticsearch nodes'),
      memoryMb: elasticMemoryMb,
      heapMb,
    },
    kibana: {
      memoryMb: int(raw, 'kibanaMemoryMb', 1024, 512, 65_536),
      port: int(raw, 'kibanaPort', 5601, 1, 65_535),
    },
    service: {
      memoryMb: int(raw, 'serviceMemoryMb', 512, 128, 65_536),
      port: int(raw, 'servicePort', 3000, 1, 65_535),
      traceSampleRatio: ratio(raw, 'traceSampleRatio', 0.1),
    },
    extras,
    pgAdmin: {
      memoryMb: int(raw, 'pgAdminMemoryMb', 512, 256, 65_536),
      port: int(raw, 'pgAdminPort', 8080, 1, 65_535),
    },
    mongoExpress: {
      memoryMb: int(raw, 'mongoExpressMemoryMb', 256, 128, 65_536),
      port: int(raw, 'mongoExpressPort', 8081, 1, 65_535),
    },
    otelCollector: { memoryMb: int(raw, 'otelCollectorMemoryMb', 256, 128, 65_536) },
  };
  distinctPorts(raw, settings);
  return settings;
}

/**
 * Two published ports on one address cannot both bind: the later key (in the order MongoDB's
 * members, Kibana, the service, pgAdmin, Mongo Express) is refused, naming the earlier.
 * Disabled extras publish nothing, so their ports are not compared.
 */
function distinctPorts(raw: RawSettings, settings: StackSettings) {
  const { kibana, service, pgAdmin, mongoExpress, extras, mongo } = settings;
  const members = Array.from(
    { length: mongo.members },
    (_, i) => ['mongoHostAccess', mongoMemberPort(i + 1), mongo.hostAccess] as const,
  );
  const published = (
    [
      ...members,
      ['kibanaPort', kibana.port, true],
      ['servicePort', service.port, true],
      ['pgAdminPort', pgAdmin.port, extras.pgAdmin],
      ['mongoExpressPort', mongoExpress.port, extras.mongoExpress],
    ] as const
  ).filter(([, , on]) => on);
  published.forEach(([key, port], i) => {
    const earlier = published.slice(0, i).find(([, other]) => other === port);
    if (earlier) {
      const given = raw[key] ? '' : ' (its default)';
      throw new SettingsError(`nova:${key}`, `${port}${given} is also nova:${earlier[0]}`);
    }
  });
}
