/**
 * A scripted stand-in for the few Elasticsearch APIs bootstrap, the indexer and reindex use,
 * built on Elastic's own client mock (@elastic/elasticsearch-mock). It keeps what was PUT and
 * answers GETs from it, the way a cluster would for these objects, so a plan can be applied
 * and planned again, and an alias swapped. It is not Elasticsearch: it checks our requests and
 * our plan logic; the live suite runs against a real cluster.
 *
 * Routing is find-my-way's: static segments win over parameters, so /_aliases and
 * /_index_template/:name are never taken for /:index, nor /:index/_settings for /:index.
 */
import { Client, errors } from '@elastic/elasticsearch';
import MockModule, { type MockPattern, type ResolverFn } from '@elastic/elasticsearch-mock';
import {
  componentTemplateRefusal,
  indexTemplateRefusal,
  putMappingRefusal,
} from './elastic-rules.js';

// A CommonJS module whose typings declare a default export: at run time the import is the
// class itself.
const Mock = MockModule as unknown as typeof MockModule.default;

type Body = Record<string, unknown>;

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
}

/** An Elasticsearch error answer, as the client raises it. */
export const esError = (statusCode: number, type: string, reason = 'scripted') =>
  new errors.ResponseError({
    body: { error: { type, reason }, status: statusCode },
    statusCode,
    headers: {},
    warnings: null,
    meta: {} as never,
  });
const notFound = (reason: string, type = 'resource_not_found_exception') =>
  esError(404, type, reason);
const failure400 = (type: string, reason: string) => esError(400, type, reason);
/** A stable stand-in for an index's UUID, as error reasons quote it. */
const fakeUuid = (index: string) => Buffer.from(index).toString('base64url').slice(0, 22);

/** A concrete index: its aliases (name -> { is_write_index? }), mappings and settings. */
export interface IndexState {
  aliases: Body;
  mappings: Body;
  /** As created, then updated by PUT /:index/_settings (`index.` prefixes flattened). */
  settings?: Body;
}

/** `{ index: { refresh_interval } }` and `{ refresh_interval }` are the same setting. */
const flatSettings = (settings: Body | undefined): Body => {
  const { index, ...rest } = settings ?? {};
  return { ...(index as Body | undefined), ...rest };
};

/** `properties` with `added`'s fields joined (deeply); existing fields keep their definition. */
function mergeProperties(mappings: Body, added: Body): Body {
  const merge = (have: Body | undefined, add: Body): Body => {
    const out: Body = { ...(have ?? {}) };
    for (const [name, field] of Object.entries(add)) {
      const existing = out[name] as Body | undefined;
      if (!existing) out[name] = field;
      else {
        const f = field as Body;
        out[name] = {
          ...existing,
          ...(f.properties
            ? { properties: merge(existing.properties as Body, f.properties as Body) }
            : {}),
          ...(f.fields ? { fields: merge(existing.fields as Body, f.fields as Body) } : {}),
        };
      }
    }
    return out;
  };
  return { ...mappings, properties: merge(mappings.properties as Body, added) };
}

export class FakeCluster {
  readonly mock = new Mock();
  readonly requests: RecordedRequest[] = [];
  readonly policies = new Map<string, Body>();
  readonly components = new Map<string, Body>();
  readonly templates = new Map<string, Body>();
  /** Concrete indices: name -> { aliases, mappings, settings }. */
  readonly indices = new Map<string, IndexState>();
  readonly dataStreams = new Set<string>();
  /** Each data stream's backing indices and their mappings, in generation order. */
  /** A data stream's backing indices, oldest first; settings flat (`index.` prefixes gone). */
  readonly backingIndices = new Map<string, { name: string; mappings: Body; settings: Body }[]>();
  /** Answers to serve before the normal ones, e.g. two 503s while the cluster elects a master. */
  failures: { status: number; times: number } | undefined;
  /** Documents by `${index}/${id}`, with external versions; deletes leave a tombstone. */
  readonly docs = new Map<string, { version: number; source?: Body; deleted?: boolean }>();
  /** Indices named by each refresh request, in order. */
  readonly refreshed: string[] = [];
  #generated = 0;
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
    /** /nova_tickets-v2/_settings -> nova_tickets-v2 */
    const indexPart = (path: string | string[]) =>
      decodeURIComponent(String(path).split('/')[1] ?? '');
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
      const refusal = componentTemplateRefusal(p.body as Body);
      if (refusal) return failure400('mapper_parsing_exception', refusal);
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
      const refusal = indexTemplateRefusal(last(p.path), p.body as Body, this.components);
      if (refusal) return failure400('illegal_argument_exception', refusal);
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
      const name = last(p.path);
      this.dataStreams.add(name);
      this.#rollover(name);
      return { acknowledged: true };
    });
    this.mock.add({ method: 'GET', path: '/:index/_mapping' }, (p: MockPattern) => {
      record(p);
      const backing = this.backingIndices.get(String(p.path).split('/')[1] ?? '');
      if (!backing) return notFound('no such index', 'index_not_found_exception');
      return Object.fromEntries(backing.map(({ name, mappings }) => [name, { mappings }]));
    });
    this.mock.add({ method: 'PUT', path: '/:index/_mapping' }, (p: MockPattern) => {
      record(p);
      const backing = this.backingIndices.get(String(p.path).split('/')[1] ?? '');
      if (!backing) return notFound('no such index', 'index_not_found_exception');
      // As Elasticsearch: checked against every target index first (one refusal, nothing
      // changed), then new fields join and existing ones keep their definition.
      const added = (p.body as Body).properties as Body;
      const writeOnly = String(p.querystring?.write_index_only) === 'true';
      const targets = writeOnly ? backing.slice(-1) : backing;
      for (const index of targets) {
        const refusal = putMappingRefusal(index.mappings.properties as Body | undefined, added);
        if (refusal) return failure400('illegal_argument_exception', refusal);
      }
      for (const index of targets) index.mappings = mergeProperties(index.mappings, added);
      return { acknowledged: true };
    });
    this.mock.add({ method: 'POST', path: '/:alias/_rollover' }, (p: MockPattern) => {
      record(p);
      const name = String(p.path).split('/')[1] ?? '';
      if (!this.dataStreams.has(name))
        return notFound('no such alias', 'index_not_found_exception');
      const fresh = this.#rollover(name);
      return { acknowledged: true, rolled_over: true, new_index: fresh };
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
      // Comma lists, wildcards (matching nothing is an empty answer, as with the default
      // allow_no_indices) and aliases; expand_wildcards is ignored.
      const result: Body = {};
      for (const name of last(p.path).split(',')) {
        const found = this.#resolve(name);
        if (found.length === 0 && !name.includes('*'))
          return notFound(`no such index [${name}]`, 'index_not_found_exception');
        for (const index of found) result[index] = this.indices.get(index);
      }
      return result;
    });
    this.mock.add({ method: 'PUT', path: '/:index' }, (p: MockPattern) => {
      record(p);
      const index = last(p.path);
      // MetadataCreateIndexService.validateIndexName: an existing index is
      // ResourceAlreadyExistsException "index [name/uuid] already exists"; an alias's name is
      // InvalidIndexNameException "already exists as alias".
      if (this.indices.has(index)) {
        return failure400(
          'resource_already_exists_exception',
          `index [${index}/${fakeUuid(index)}] already exists`,
        );
      }
      if (this.#aliasHolders(index).length > 0) {
        return failure400(
          'invalid_index_name_exception',
          `Invalid index name [${index}], already exists as alias`,
        );
      }
      // As Elasticsearch does: the matching index template's mappings _meta lands in the index.
      const template = [...this.templates.values()].find((t) =>
        (t.index_patterns as string[]).some((pattern) => wildcard(pattern).test(index)),
      );
      const mappings = structuredClone(
        ((template?.template as Body | undefined)?.mappings as Body | undefined) ?? {},
      );
      const body = p.body as Body | undefined;
      this.indices.set(index, {
        aliases: (body?.aliases as Body) ?? {},
        mappings,
        settings: flatSettings(body?.settings as Body | undefined),
      });
      return { acknowledged: true, index };
    });
    this.mock.add({ method: 'DELETE', path: '/:index' }, (p: MockPattern) => {
      const failure = record(p);
      if (failure) return failure;
      const names = last(p.path).split(',');
      for (const name of names) {
        if (!this.indices.has(name)) {
          return this.#aliasHolders(name).length > 0
            ? failure400('illegal_argument_exception', `[${name}] is an alias, not an index`)
            : notFound(`no such index [${name}]`, 'index_not_found_exception');
        }
      }
      for (const name of names) this.#dropIndex(name);
      return { acknowledged: true };
    });
    this.mock.add({ method: 'GET', path: '/:index/_settings/:name' }, (p: MockPattern) => {
      record(p);
      // Only data streams, the one target bootstrap reads settings of; flat_settings=true.
      const [, stream, , name] = String(p.path).split('/');
      const backing = this.backingIndices.get(stream ?? '');
      if (!backing) return notFound('no such index', 'index_not_found_exception');
      // GetSettingsResponse.toXContent: an index whose filtered settings are empty is left
      // out of the answer altogether ("no settings, jump over it").
      const key = String(name).replace(/^index\./, '');
      return Object.fromEntries(
        backing
          .filter((index) => key in index.settings)
          .map((index) => [index.name, { settings: { [`index.${key}`]: index.settings[key] } }]),
      );
    });
    this.mock.add({ method: 'PUT', path: '/:index/_settings' }, (p: MockPattern) => {
      const failure = record(p);
      if (failure) return failure;
      // A data stream: every backing index (a dynamic setting applies to all of them).
      const backing = this.backingIndices.get(indexPart(p.path));
      if (backing) {
        for (const index of backing) {
          index.settings = { ...index.settings, ...flatSettings(p.body as Body) };
        }
        return { acknowledged: true };
      }
      const names = this.#concrete(indexPart(p.path));
      if (!Array.isArray(names)) return names;
      for (const name of names) {
        const state = this.indices.get(name) as IndexState;
        state.settings = { ...state.settings, ...flatSettings(p.body as Body) };
      }
      return { acknowledged: true };
    });
    this.mock.add({ method: ['GET', 'POST'], path: '/:index/_refresh' }, (p: MockPattern) => {
      const failure = record(p);
      if (failure) return failure;
      const names = this.#concrete(indexPart(p.path));
      if (!Array.isArray(names)) return names;
      this.refreshed.push(...names);
      return { _shards: { total: names.length, successful: names.length, failed: 0 } };
    });
    this.mock.add({ method: 'POST', path: '/_aliases' }, (p: MockPattern) => {
      const failure = record(p);
      return failure ?? this.#updateAliases((p.body as { actions: Body[] }).actions);
    });
  }

  /** Concrete indices a name designates: the index itself, an alias's indices, a wildcard's. */
  /** A new write index for the data stream, mapped by its index template's components now. */
  #rollover(stream: string): string {
    const template = [...this.templates.values()].find((t) =>
      ((t.index_patterns as string[] | undefined) ?? []).includes(stream),
    );
    let mappings: Body = {};
    let settings: Body = {};
    for (const component of (template?.composed_of as string[] | undefined) ?? []) {
      const part = (this.components.get(component)?.template as Body | undefined) ?? {};
      const own = (part.mappings ?? {}) as Body;
      mappings = {
        ...mappings,
        ...own,
        properties: { ...(mappings.properties as Body), ...(own.properties as Body) },
      };
      settings = { ...settings, ...flatSettings(part.settings as Body | undefined) };
    }
    const backing = this.backingIndices.get(stream) ?? [];
    const name = `.ds-${stream}-${String(backing.length + 1).padStart(6, '0')}`;
    backing.push({
      name,
      mappings: structuredClone(mappings),
      settings: structuredClone(settings),
    });
    this.backingIndices.set(stream, backing);
    return name;
  }

  #resolve(name: string): string[] {
    if (name.includes('*')) {
      const match = new RegExp(`^${name.replaceAll('*', '.*')}$`);
      return [...this.indices.keys()].filter((index) => match.test(index));
    }
    return this.indices.has(name) ? [name] : this.#aliasHolders(name);
  }

  /** The indices that carry this alias. */
  #aliasHolders(alias: string): string[] {
    return [...this.indices].filter(([, state]) => alias in state.aliases).map(([name]) => name);
  }

  /** The concrete indices of a path's index part, or the 404 answer when one is missing. */
  #concrete(names: string) {
    const result: string[] = [];
    for (const name of names.split(',')) {
      const found = this.#resolve(name);
      if (found.length === 0 && !name.includes('*')) {
        return notFound(`no such index [${name}]`, 'index_not_found_exception');
      }
      result.push(...found);
    }
    return result;
  }

  /** Where a write to `name` lands: the alias's write index, or the name itself. */
  #writeTarget(name: string): string | { error: Body } {
    if (this.indices.has(name)) return name;
    const holders = this.#aliasHolders(name);
    if (holders.length === 0) return name; // as before: documents are keyed by the name sent
    const writers = holders.filter(
      (index) =>
        ((this.indices.get(index) as IndexState).aliases[name] as Body | undefined)
          ?.is_write_index === true,
    );
    if (writers.length === 1) return writers[0] as string;
    if (holders.length === 1) return holders[0] as string;
    return {
      error: {
        type: 'illegal_argument_exception',
        reason: `no write index is defined for alias [${name}]`,
      },
    };
  }

  #dropIndex(name: string) {
    this.indices.delete(name);
    for (const key of [...this.docs.keys()]) {
      if (key.startsWith(`${name}/`)) this.docs.delete(key);
    }
  }

  /** POST /_aliases: every action applies, or none does. */
  #updateAliases(actions: Body[]) {
    const next = new Map(
      [...this.indices].map(([name, state]) => [name, { ...state, aliases: { ...state.aliases } }]),
    );
    const dropped: string[] = [];
    for (const action of actions) {
      const [kind, raw] = Object.entries(action)[0] as [string, Body];
      const index = raw.index as string;
      const state = next.get(index);
      if (!state) return notFound(`no such index [${index}]`, 'index_not_found_exception');
      if (kind === 'add') {
        const { alias, index: _index, ...options } = raw;
        state.aliases[alias as string] = options;
      } else if (kind === 'remove') {
        const alias = raw.alias as string;
        if (!(alias in state.aliases)) {
          return notFound(`aliases [${alias}] missing`, 'aliases_not_found_exception');
        }
        delete state.aliases[alias];
      } else if (kind === 'remove_index') {
        next.delete(index);
        dropped.push(index);
      } else {
        return failure400('illegal_argument_exception', `unknown alias action [${kind}]`);
      }
    }
    for (const [name, state] of next) {
      for (const alias of Object.keys(state.aliases)) {
        if (next.has(alias)) {
          return failure400(
            'invalid_alias_name_exception',
            `an index exists with the same name as the alias [${alias}]`,
          );
        }
        const writers = [...next.values()].filter(
          (s) => (s.aliases[alias] as Body | undefined)?.is_write_index === true,
        );
        if (writers.length > 1) {
          return failure400(
            'illegal_state_exception',
            `alias [${alias}] has more than one write index [${name}]`,
          );
        }
      }
    }
    for (const name of dropped) this.#dropIndex(name);
    this.indices.clear();
    for (const [name, state] of next) this.indices.set(name, state);
    return { acknowledged: true };
  }

  /**
   * Answers `_bulk` with `answer` (a whole request failing, say), which may hand a request on
   * to the normal route with `next`. Returns the function that puts the normal route back.
   */
  interceptBulk(answer: (params: MockPattern, next: ResolverFn) => ReturnType<ResolverFn>) {
    const route = { method: 'POST', path: '/_bulk' } as const;
    const normal = this.mock.get(route);
    if (!normal) throw new Error('no _bulk route');
    this.mock.clear(route);
    this.mock.add(route, (params: MockPattern) => answer(params, normal));
    return () => {
      this.mock.clear(route);
      this.mock.add(route, normal);
    };
  }

  /**
   * _bulk with external_gte versioning, as Elasticsearch applies it item by item; `create`
   * (the one action a data stream takes) stores a document unless its _id is taken (409),
   * generating an _id when none is given.
   */
  #bulk(lines: Body[]) {
    const items: Body[] = [];
    for (let i = 0; i < lines.length; i++) {
      const header = lines[i] as Record<string, { _index: string; _id: string; version: number }>;
      const action = Object.keys(header)[0] as string;
      const meta = header[action] as { _index: string; _id: string; version: number };
      const source = action === 'index' || action === 'create' ? (lines[++i] as Body) : undefined;
      const target = this.#writeTarget(meta._index);
      if (typeof target !== 'string') {
        items.push({ [action]: { _id: meta._id, status: 400, ...target } });
        continue;
      }
      const id = meta._id ?? `generated-${++this.#generated}`;
      const key = `${target}/${id}`;
      const failure = this.itemFailure(action, id);
      if (failure) {
        items.push({
          [action]: {
            _index: target,
            _id: id,
            status: failure.status,
            error: { type: failure.type, reason: 'scripted' },
          },
        });
        continue;
      }
      const existing = this.docs.get(key);
      if (action === 'create') {
        if (existing && !existing.deleted) {
          items.push({
            create: {
              _index: target,
              _id: id,
              status: 409,
              error: {
                type: 'version_conflict_engine_exception',
                reason: `[${id}]: version conflict, document already exists (current version [1])`,
              },
            },
          });
        } else {
          this.docs.set(key, { version: 1, source: source as Body });
          items.push({ create: { _index: target, _id: id, status: 201, result: 'created' } });
        }
        continue;
      }
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

  /** Live documents of an index, or of the indices behind an alias (tombstones excluded). */
  documents(indexOrAlias: string): Map<string, { version: number; source?: Body }> {
    const holders = this.indices.has(indexOrAlias) ? [] : this.#aliasHolders(indexOrAlias);
    const indices = holders.length > 0 ? holders : [indexOrAlias];
    const result = new Map<string, { version: number; source?: Body }>();
    for (const index of indices) {
      const prefix = `${index}/`;
      for (const [key, doc] of this.docs) {
        if (key.startsWith(prefix) && !doc.deleted) result.set(key.slice(prefix.length), doc);
      }
    }
    return result;
  }

  /** The indices an alias points at, each with its alias options ({ is_write_index }). */
  aliasOf(alias: string): Record<string, Body> {
    return Object.fromEntries(
      this.#aliasHolders(alias).map((index) => [
        index,
        (this.indices.get(index) as IndexState).aliases[alias] as Body,
      ]),
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
