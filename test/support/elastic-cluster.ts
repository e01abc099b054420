/**
 * A scripted stand-in for the few Elasticsearch APIs bootstrap uses, built on Elastic's own
 * client mock (@elastic/elasticsearch-mock). It keeps what was PUT and answers GETs from it,
 * the way a cluster would for these objects, so a plan can be applied and planned again.
 * It is not Elasticsearch: it checks our requests and our plan logic; the live suite runs
 * against a real cluster.
 */
import { Client, errors } from '@elastic/elasticsearch';
import MockModule, { type MockPattern } from '@elastic/elasticsearch-mock';

// A CommonJS module whose typings declare a default export: at run time the import is the
// class itself.
const Mock = MockModule as unknown as typeof MockModule.default;

type Body = Record<string, unknown>;

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
}

const notFound = (reason: string) =>
  new errors.ResponseError({
    body: { error: { type: 'resource_not_found_exception', reason }, status: 404 },
    statusCode: 404,
    headers: {},
    warnings: null,
    meta: {} as never,
  });

export class FakeCluster {
  readonly mock = new Mock();
  readonly requests: RecordedRequest[] = [];
  readonly policies = new Map<string, Body>();
  readonly components = new Map<string, Body>();
  readonly templates = new Map<string, Body>();
  /** Concrete indices: name -> { aliases, mappings }. */
  readonly indices = new Map<string, { aliases: Body; mappings: Body }>();
  readonly dataStreams = new Set<string>();
  /** Answers to serve before the normal ones, e.g. two 503s while the cluster elects a master. */
  failures: { status: number; times: number } | undefined;
  /** Documents by `${index}/${id}`, with external versions; deletes leave a tombstone. */
  readonly docs = new Map<string, { version: number; source?: Body; deleted?: boolean }>();
  /** Per-item answers to script in _bulk (e.g. a 429 or a mapping error for one document). */
  itemFailure: (action: string, id: string) => { status: number; type: string } | undefined = () =>
    undefined;

  constructor() {
    const last = (path: string | string[]) =>
      decodeURIComponent(String(path).split('/').pop() ?? '');
    const record = (params: MockPattern) => {
      this.requests.push({
        method: String(params.method),
        path: String(params.path),
        body: params.body,
      });
      if (this.failures && this.failures.times > 0) {
        this.failures.times--;
        return new errors.ResponseError({
          body: {
            error: { type: 'master_not_discovered_exception', reason: 'no master' },
            status: this.failures.status,
          },
          statusCode: this.failures.status,
          headers: {},
          warnings: null,
          meta: {} as never,
        });
      }
      return undefined;
    };
    const wildcard = (pattern: string) => new RegExp(`^${pattern.replaceAll('*', '.*')}$`);
    this.mock.add({ method: 'GET', path: '/_ilm/policy/:name' }, (p: MockPattern) => {
      const failure = record(p);
      if (failure) return failure;
      const name = last(p.path);
      const policy = this.policies.get(name);
      return policy
        ? { [name]: { version: 1, policy } }
        : notFound(`lifecycle policy [${name}] not found`);
    });
    this.mock.add({ method: 'PUT', path: '/_ilm/policy/:name' }, (p: MockPattern) => {
      record(p);
      this.policies.set(last(p.path), (p.body as Body).policy as Body);
      return { acknowledged: true };
    });
    this.mock.add({ method: 'GET', path: '/_component_template/:name' }, (p: MockPattern) => {
      record(p);
      const match = wildcard(last(p.path));
      const found = [...this.components].filter(([n]) => match.test(n));
      return found.length
        ? {
            component_templates: found.map(([name, component_template]) => ({
              name,
              component_template,
            })),
          }
        : notFound('component templates not found');
    });
    this.mock.add({ method: 'PUT', path: '/_component_template/:name' }, (p: MockPattern) => {
      record(p);
      this.components.set(last(p.path), p.body as Body);
      return { acknowledged: true };
    });
    this.mock.add({ method: 'GET', path: '/_index_template/:name' }, (p: MockPattern) => {
      record(p);
      const match = wildcard(last(p.path));
      const found = [...this.templates].filter(([n]) => match.test(n));
      return found.length
        ? { index_templates: found.map(([name, index_template]) => ({ name, index_template })) }
        : notFound('index templates not found');
    });
    this.mock.add({ method: 'PUT', path: '/_index_template/:name' }, (p: MockPattern) => {
      record(p);
      this.templates.set(last(p.path), p.body as Body);
      return { acknowledged: true };
    });
    this.mock.add({ method: 'GET', path: '/_data_stream/:name' }, (p: MockPattern) => {
      record(p);
      const name = last(p.path);
      return this.dataStreams.has(name)
        ? { data_streams: [{ name }] }
        : notFound(`data stream [${name}] not found`);
    });
    this.mock.add({ method: 'PUT', path: '/_data_stream/:name' }, (p: MockPattern) => {
      record(p);
      this.dataStreams.add(last(p.path));
      return { acknowledged: true };
    });
    this.mock.add({ method: 'POST', path: '/_bulk' }, (p: MockPattern) => {
      const failure = record(p);
      return failure ?? this.#bulk(p.body as unknown as Body[]);
    });
    this.mock.add({ method: 'HEAD', path: '/:index' }, (p: MockPattern) => {
      record(p);
      const name = last(p.path);
      return this.indices.has(name) || this.dataStreams.has(name) ? '' : notFound(name);
    });
    this.mock.add({ method: 'GET', path: '/:index' }, (p: MockPattern) => {
      record(p);
      const name = last(p.path);
      const result: Body = {};
      for (const [index, state] of this.indices) {
        if (index === name || name in state.aliases) result[index] = state;
      }
      return Object.keys(result).length ? result : notFound(`no such index [${name}]`);
    });
    this.mock.add({ method: 'PUT', path: '/:index' }, (p: MockPattern) => {
      record(p);
      const index = last(p.path);
      // As Elasticsearch does: the matching index template's mappings _meta lands in the index.
      const template = [...this.templates.values()].find((t) =>
        (t.index_patterns as string[]).some((pattern) => wildcard(pattern).test(index)),
      );
      const mappings =
        ((template?.template as Body | undefined)?.mappings as Body | undefined) ?? {};
      this.indices.set(index, {
        aliases: ((p.body as Body | undefined)?.aliases as Body) ?? {},
        mappings,
      });
      return { acknowledged: true, index };
    });
  }

  /** _bulk with external_gte versioning, as Elasticsearch applies it item by item. */
  #bulk(lines: Body[]) {
    const items: Body[] = [];
    for (let i = 0; i < lines.length; i++) {
      const header = lines[i] as Record<string, { _index: string; _id: string; version: number }>;
      const action = Object.keys(header)[0] as string;
      const meta = header[action] as { _index: string; _id: string; version: number };
      const key = `${meta._index}/${meta._id}`;
      const source = action === 'index' ? (lines[++i] as Body) : undefined;
      const failure = this.itemFailure(action, meta._id);
      if (failure) {
        items.push({
          [action]: {
            _id: meta._id,
            status: failure.status,
            error: { type: failure.type, reason: 'scripted' },
          },
        });
        continue;
      }
      const existing = this.docs.get(key);
      if (existing && meta.version < existing.version) {
        items.push({
          [action]: {
            _id: meta._id,
            status: 409,
            error: { type: 'version_conflict_engine_exception', reason: 'stale' },
          },
        });
        continue;
      }
      if (action === 'delete') {
        this.docs.set(key, { version: meta.version, deleted: true });
        const found = existing && !existing.deleted;
        items.push({
          delete: {
            _id: meta._id,
            status: found ? 200 : 404,
            result: found ? 'deleted' : 'not_found',
          },
        });
      } else {
        this.docs.set(key, { version: meta.version, source: source as Body });
        items.push({ index: { _id: meta._id, status: existing && !existing.deleted ? 200 : 201 } });
      }
    }
    const failed = (it: Body) =>
      Number((Object.values(it)[0] as { status?: number }).status) >= 300;
    return { took: 1, errors: items.some(failed), items };
  }

  /** Live documents of an index (tombstones excluded). */
  documents(index: string): Map<string, { version: number; source?: Body }> {
    const prefix = `${index}/`;
    return new Map(
      [...this.docs]
        .filter(([key, doc]) => key.startsWith(prefix) && !doc.deleted)
        .map(([key, doc]) => [key.slice(prefix.length), doc]),
    );
  }

  client(): Client {
    return new Client({
      node: 'http://127.0.0.1:9200',
      Connection: this.mock.getConnection(),
      maxRetries: 0,
    });
  }

  /** The requests that changed something. */
  writes(): RecordedRequest[] {
    return this.requests.filter(
      (r) => r.method === 'PUT' || r.method === 'POST' || r.method === 'DELETE',
    );
  }
}
