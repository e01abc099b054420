/**
 * The images the stack runs, pinned: an exact release tag (never `latest`, never a bare major
 * or major.minor), with an optional `@sha256:` digest. A floating tag makes two `pulumi up` runs of the same
 * program start different software, and a changed image id replaces the container.
 */
import { SettingsError } from './errors.js';

export const DEFAULT_IMAGES = {
  postgres: 'postgres:15.19',
  // MongoDB 8.0 (7.0's support ended in August 2026; `nova:mongoImage mongo:7.0.40` still
  // works: the analytics need 7.0). The digest is the multi-platform index Docker Hub served
  // for this tag (docker-library/repo-info repos/mongo/remote/8.0.32.md, 2026-09-16).
  mongo: 'mongo:8.0.32@sha256:4968f22d0c6c10ef29952f3e807f62872ba22b3312f25803564fbfc08255efc2',
  // The newest 8.19 patch release (elastic/elasticsearch and elastic/kibana v8.19.26).
  elasticsearch: 'docker.elastic.co/elasticsearch/elasticsearch:8.19.26',
  kibana: 'docker.elastic.co/kibana/kibana:8.19.26',
  // The optional extras (nova:pgAdmin, nova:mongoExpress, nova:otelCollector). pgAdmin 9.18
  // fixes an authentication bypass in server mode (release notes 9.18). mongo-express 1.0.2
  // is its last release; its official image is no longer rebuilt.
  pgAdmin: 'dpage/pgadmin4:9.18',
  mongoExpress: 'mongo-express:1.0.2',
  otelCollector: 'otel/opentelemetry-collector-contrib:0.160.0',
} as const satisfies Record<string, string>;

/**
 * Images the stack uses as tools, not as services, and so not configurable: BusyBox's musl
 * build, whose one static binary the OpenTelemetry Collector's healthcheck runs
 * (otel-collector.ts). Its default variant is the glibc build, which needs libraries the
 * Collector's image has not got: the variant is part of the pin.
 */
export const TOOL_IMAGES = {
  busybox: 'busybox:1.37.0-musl',
} as const satisfies Record<string, string>;

export type ImageName = keyof typeof DEFAULT_IMAGES;

/** `repository:tag` or `repository:tag@sha256:<64 hex>`, the tag an exact version. */
const PINNED =
  /^(?<repository>[a-z0-9][a-z0-9._/-]*(?::\d+)?(?:\/[a-z0-9._-]+)*):(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})(?:@sha256:[a-f0-9]{64})?$/;

/** What is wrong with `reference` as a pinned image, or undefined when it is pinned. */
export function imageProblem(reference: string): string | undefined {
  const match = PINNED.exec(reference.trim());
  const tag = match?.groups?.tag;
  if (!tag) return `'${reference}' is not pinned: give repository:tag (optionally @sha256:digest)`;
  // An exact release: major.minor.patch, or major.minor for PostgreSQL and pgAdmin (whose
  // releases are numbered so: pgAdmin 9.15 is a release, its tag `9` the moving one); a
  // suffix such as -bookworm may follow. `mongo:7.0` or `elasticsearch:8.19` move with every
  // patch release.
  const majorMinor = /(^|\/)(postgres|postgresql|pgadmin4)$/.test(match?.groups?.repository ?? '');
  const exact = majorMinor ? /^\d+\.\d+(\.\d+)?([-_].+)?$/ : /^\d+\.\d+\.\d+([-_].+)?$/;
  if (!exact.test(tag)) {
    return `'${reference}' floats (tag '${tag}'): pin an exact release such as ${majorMinor ? '15.19' : '8.19.26'}`;
  }
  return undefined;
}

/** The reference, when it is pinned; a SettingsError naming `key` otherwise. */
export function pinnedImage(reference: string, key: string): string {
  const problem = imageProblem(reference);
  if (problem) throw new SettingsError(key, problem);
  return reference.trim();
}
