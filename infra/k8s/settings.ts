/**
 * The Kubernetes target's settings (`nova:platform: kubernetes`), read from the same `nova:*`
 * config as the Docker stack's and checked the same way before any resource is made: one
 * error naming the key. Keys that mean the same on both targets keep their names and
 * defaults (nova:mongoMembers, nova:elasticHeapMb, ...); Docker-only keys (ports, bind
 * address, the extras) are refused here rather than ignored.
 *
 * Pure: the program passes config values in; tests and `npm run k8s:render` pass plain objects.
 */
import { SettingsError } from '../errors.js';
import { DEFAULT_IMAGES, pinnedImage } from '../images.js';
import {
  elasticMemory,
  flag,
  int,
  name,
  oneOrThree,
  ownerName,
  type RawSettings,
  ratio,
  refuseUnknownKeys,
} from '../settings.js';

/**
 * CloudNativePG's PostgreSQL 15 operand image, its `standard` flavour on Debian trixie
 * (CloudNativePG docs, image_catalog.md): the operator runs its own images, which carry what
 * it needs beside PostgreSQL; Docker Hub's `postgres` is not one of them.
 */
export const CNPG_POSTGRES_IMAGE = 'ghcr.io/cloudnative-pg/postgresql:15.14-standard-trixie';
/** The Elastic Stack version ECK runs: the Docker stack's pinned release. */
export const ELASTIC_VERSION = DEFAULT_IMAGES.elasticsearch.split(':')[1] as string;
/**
 * MongoDB versions the MongoDBCommunity resource may run, 8.0 by default and 7.0 selectable:
 * the Docker stack's releases. The operator wants a full version (it picks the image
 * mongodb-community-server:<version>-ubi8 from it).
 */
export const MONGO_VERSIONS = { '8.0': '8.0.32', '7.0': '7.0.40' } as const;

export interface KubernetesSettings {
  namespace: string;
  /** `install`: the program installs the three operators; `preinstalled`: they are there. */
  operators: 'install' | 'preinstalled';
  /** PersistentVolumeClaims' class; the cluster's default class when absent. */
  storageClass: string | undefined;
  postgres: {
    instances: 1 | 3;
    image: string;
    memoryMb: number;
    storageGi: number;
    database: string;
    /** The schema owner (migrations, bootstrap); the service logs in as APP_USER. */
    owner: string;
  };
  mongo: { members: 1 | 3; version: string; memoryMb: number; storageGi: number; tls: boolean };
  elastic: { nodes: 1 | 3; version: string; memoryMb: number; heapMb: number; storageGi: number };
  kibana: { count: number; memoryMb: number };
  service: {
    image: string;
    replicas: number;
    maxReplicas: number;
    memoryMb: number;
    cpuMillis: number;
    traceSampleRatio: number;
  };
}

/** Every `nova:*` key this target reads (`platform` is the program's, index.ts strips it). */
export const KUBERNETES_SETTING_KEYS: readonly string[] = [
  'namespace',
  'operators',
  'storageClass',
  'postgresInstances',
  'postgresImage',
  'postgresMemoryMb',
  'postgresStorageGi',
  'postgresDatabase',
  'postgresUser',
  'mongoMembers',
  'mongoVersion',
  'mongoMemoryMb',
  'mongoStorageGi',
  'mongoTls',
  'elasticNodes',
  'elasticMemoryMb',
  'elasticHeapMb',
  'elasticStorageGi',
  'kibanaCount',
  'kibanaMemoryMb',
  'serviceImage',
  'serviceReplicas',
  'serviceMaxReplicas',
  'serviceMemoryMb',
  'serviceCpuMillis',
  'traceSampleRatio',
];

/** A DNS label, as Kubernetes names namespaces (RFC 1123), at most 63 characters. */
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function oneOf<T extends string>(raw: RawSettings, key: string, allowed: readonly T[]): T {
  const value = raw[key] || allowed[0];
  if (!allowed.includes(value as T)) {
    throw new SettingsError(`nova:${key}`, `must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export function readKubernetesSettings(raw: RawSettings): KubernetesSettings {
  refuseUnknownKeys(raw, KUBERNETES_SETTING_KEYS, 'of the Kubernetes target');
  const namespace = raw.namespace || 'nova';
  if (!DNS_LABEL.test(namespace)) {
    throw new SettingsError('nova:namespace', 'must be a DNS label: a-z, 0-9 and -, at most 63');
  }
  const storageClass = raw.storageClass || undefined;
  if (storageClass !== undefined && !/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(storageClass)) {
    throw new SettingsError('nova:storageClass', 'must be a StorageClass name');
  }
  const serviceImage = raw.serviceImage;
  if (!serviceImage) {
    // The Docker stack builds the image on the host; a cluster pulls it from a registry.
    throw new SettingsError(
      'nova:serviceImage',
      'is required: the service image in a registry the cluster pulls from, pinned (registry/nova:1.2.3, optionally @sha256:…)',
    );
  }
  const owner = ownerName(raw);
  const { memoryMb: elasticMemoryMb, heapMb } = elasticMemory(raw);
  const replicas = int(raw, 'serviceReplicas', 2, 1, 100);
  const maxReplicas = int(raw, 'serviceMaxReplicas', Math.max(6, replicas), 1, 100);
  if (maxReplicas < replicas) {
    throw new SettingsError(
      'nova:serviceMaxReplicas',
      `${maxReplicas} is fewer than nova:serviceReplicas (${replicas})`,
    );
  }
  return {
    namespace,
    operators: oneOf(raw, 'operators', ['install', 'preinstalled'] as const),
    storageClass,
    postgres: {
      instances: oneOrThree(raw, 'postgresInstances', 'PostgreSQL instances'),
      image: raw.postgresImage
        ? pinnedImage(raw.postgresImage, 'nova:postgresImage')
        : CNPG_POSTGRES_IMAGE,
      memoryMb: int(raw, 'postgresMemoryMb', 1024, 256, 262_144),
      storageGi: int(raw, 'postgresStorageGi', 10, 1, 65_536),
      database: name(raw, 'postgresDatabase', 'nova_universe'),
      owner,
    },
    mongo: {
      members: oneOrThree(raw, 'mongoMembers', 'MongoDB replica-set members'),
      version: MONGO_VERSIONS[oneOf(raw, 'mongoVersion', ['8.0', '7.0'] as const)],
      memoryMb: int(raw, 'mongoMemoryMb', 1024, 256, 262_144),
      storageGi: int(raw, 'mongoStorageGi', 10, 1, 65_536),
      tls: flag(raw, 'mongoTls'),
    },
    elastic: {
      nodes: oneOrThree(raw, 'elasticNodes', 'Elasticsearch nodes'),
      version: ELASTIC_VERSION,
      memoryMb: elasticMemoryMb,
      heapMb,
      storageGi: int(raw, 'elasticStorageGi', 20, 1, 65_536),
    },
    kibana: {
      count: int(raw, 'kibanaCount', 1, 1, 10),
      memoryMb: int(raw, 'kibanaMemoryMb', 1024, 512, 65_536),
    },
    service: {
      image: pinnedImage(serviceImage, 'nova:serviceImage'),
      replicas,
      maxReplicas,
      memoryMb: int(raw, 'serviceMemoryMb', 512, 128, 65_536),
      cpuMillis: int(raw, 'serviceCpuMillis', 500, 50, 64_000),
      traceSampleRatio: ratio(raw, 'traceSampleRatio', 0.1),
    },
  };
}
