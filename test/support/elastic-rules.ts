/**
 * Rules Elasticsearch 8 enforces on the requests we send, as the scripted cluster applies
 * them: each names the server source it comes from, so the mock refuses what a real cluster
 * refuses (see test/contracts/README.md).
 */

type Body = Record<string, unknown>;

/**
 * Analyzers every index has without defining them: the analysis module's pre-built ones (a
 * subset: those a mapping of ours could name). elastic/elasticsearch
 * server/src/main/java/org/elasticsearch/indices/analysis/PreBuiltAnalyzers.java and the
 * language analyzers of AnalysisModule.
 */
const BUILT_IN_ANALYZERS = new Set([
  'default',
  'standard',
  'simple',
  'whitespace',
  'stop',
  'keyword',
  'pattern',
  'fingerprint',
  'english',
]);
/** The one pre-built normalizer (PreConfiguredTokenFilter "lowercase" as a normalizer). */
const BUILT_IN_NORMALIZERS = new Set(['lowercase']);

const ANALYZER_KEYS = ['analyzer', 'search_analyzer', 'search_quote_analyzer'] as const;

/** `settings.analysis` or `settings.index.analysis`, as a template may carry either. */
export function analysisOf(settings: Body | undefined): Body {
  const index = settings?.index as Body | undefined;
  return ((settings?.analysis ?? index?.analysis) as Body | undefined) ?? {};
}

/** Analysis sections merged, later ones winning per name (as composed settings do). */
export function mergeAnalysis(...sections: Body[]): Body {
  const merged: Record<string, Body> = {};
  for (const section of sections) {
    for (const [kind, entries] of Object.entries(section)) {
      merged[kind] = { ...(merged[kind] ?? {}), ...(entries as Body) };
    }
  }
  return merged;
}

/**
 * Why these mappings cannot be parsed with this analysis, in Elasticsearch's words, or
 * undefined. FieldMapper.Parameter.analyzerParam: "analyzer [x] has not been configured in
 * mappings"; KeywordFieldMapper.Builder: "normalizer [x] not found for field [leaf]"; both
 * wrapped by MapperService.parseMapping as "Failed to parse mapping: …"
 * (mapper_parsing_exception, 400).
 */
export function unparseableMapping(mappings: Body | undefined, analysis: Body): string | undefined {
  const analyzers = new Set([...BUILT_IN_ANALYZERS, ...Object.keys(analysis.analyzer ?? {})]);
  const normalizers = new Set([...BUILT_IN_NORMALIZERS, ...Object.keys(analysis.normalizer ?? {})]);
  const visit = (properties: Body | undefined): string | undefined => {
    for (const [leaf, raw] of Object.entries(properties ?? {})) {
      const field = raw as Body;
      for (const key of ANALYZER_KEYS) {
        const name = field[key];
        if (typeof name === 'string' && !analyzers.has(name)) {
          return `analyzer [${name}] has not been configured in mappings`;
        }
      }
      if (typeof field.normalizer === 'string' && !normalizers.has(field.normalizer)) {
        return `normalizer [${field.normalizer}] not found for field [${leaf}]`;
      }
      const inner =
        visit(field.properties as Body | undefined) ?? visit(field.fields as Body | undefined);
      if (inner) return inner;
    }
    return undefined;
  };
  const problem = visit(mappings?.properties as Body | undefined);
  return problem && `Failed to parse mapping: ${problem}`;
}

/**
 * PUT /_component_template/<name>: the component is validated on its own, with its own
 * settings only, never those of the other components an index template composes it with.
 * MetadataIndexTemplateService.addComponentTemplate → validateTemplate(finalSettings,
 * wrappedMappings, indicesService) ("Immediate validation of the component template only").
 */
export function componentTemplateRefusal(body: Body): string | undefined {
  const template = body.template as Body | undefined;
  return unparseableMapping(
    template?.mappings as Body | undefined,
    analysisOf(template?.settings as Body | undefined),
  );
}

/**
 * PUT /_index_template/<name>: validated after composition, every component's settings (then
 * the template's own) merged, every mapping parsed against them.
 * MetadataIndexTemplateService.validateIndexTemplateV2 → validateCompositeTemplate; the
 * refusal reads "composable template [x] template after composition with component templates
 * [..] is invalid" (illegal_argument_exception, 400).
 */
export function indexTemplateRefusal(
  name: string,
  body: Body,
  components: ReadonlyMap<string, Body>,
): string | undefined {
  const composed = ((body.composed_of as string[] | undefined) ?? []).map(
    (c) => (components.get(c)?.template as Body | undefined) ?? {},
  );
  const own = (body.template as Body | undefined) ?? {};
  const parts = [...composed, own];
  const analysis = mergeAnalysis(...parts.map((p) => analysisOf(p.settings as Body | undefined)));
  for (const part of parts) {
    const problem = unparseableMapping(part.mappings as Body | undefined, analysis);
    if (problem) {
      return `composable template [${name}] template after composition with component templates [${String(body.composed_of)}] is invalid: ${problem}`;
    }
  }
  return undefined;
}

/**
 * Parameters Elasticsearch lets a put-mapping change on an existing field (FieldMapper
 * Parameter declared updateable: ignore_above, the search analyzers, meta, norms (true to
 * false), eager_global_ordinals …); every other one must be sent as it is, and one left out
 * counts as its default. A new field or multi-field is always accepted.
 */
const UPDATABLE = new Set([
  'ignore_above',
  'search_analyzer',
  'search_quote_analyzer',
  'meta',
  'norms',
  'eager_global_ordinals',
  'split_queries_on_whitespace',
  'on_script_error',
  'properties',
  'fields',
  'dynamic',
]);
/** What GET _mapping leaves out, as the mappers default it. */
const DEFAULTS: Readonly<Record<string, unknown>> = { index: true, doc_values: true, store: false };

/**
 * Why a put-mapping of `added` onto `existing` properties is refused, in Elasticsearch's
 * words, or undefined. MapperService.merge → FieldMapper.Parameter merge:
 * "Mapper for [f] conflicts with existing mapper:\n\tCannot update parameter [p] from [a] to
 * [b]", and "mapper [f] cannot be changed from type [a] to [b]" (illegal_argument_exception).
 */
export function putMappingRefusal(
  existing: Body | undefined,
  added: Body,
  prefix = '',
): string | undefined {
  for (const [name, raw] of Object.entries(added)) {
    const want = raw as Body;
    const have = existing?.[name] as Body | undefined;
    if (!have) continue;
    const path = `${prefix}${name}`;
    const [from, to] = [have.type ?? 'object', want.type ?? 'object'];
    if (from !== to) return `mapper [${path}] cannot be changed from type [${from}] to [${to}]`;
    const keys = new Set([...Object.keys(have), ...Object.keys(want)]);
    for (const key of keys) {
      if (key === 'type' || UPDATABLE.has(key)) continue;
      const [a, b] = [have[key] ?? DEFAULTS[key], want[key] ?? DEFAULTS[key]];
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        return `Mapper for [${path}] conflicts with existing mapper:\n\tCannot update parameter [${key}] from [${String(a ?? 'default')}] to [${String(b ?? 'default')}]`;
      }
    }
    const inner =
      putMappingRefusal(
        have.properties as Body | undefined,
        (want.properties ?? {}) as Body,
        `${path}.`,
      ) ??
      putMappingRefusal(have.fields as Body | undefined, (want.fields ?? {}) as Body, `${path}.`);
    if (inner) return inner;
  }
  return undefined;
}

/**
 * What Elasticsearch stores for PUT /_security/user/<name>, or why it refuses it.
 * x-pack NativeUsersStore.putUser: with a password, indexUser rewrites the whole document
 * (a field left out is stored as null); without one, updateUserWithoutPassword sends a partial
 * update carrying every field, those left out as null (metadata maps are merged), `enabled`
 * true unless sent. PutUserRequest.validate: "roles are missing"; a new user needs a password
 * ("password must be specified unless you are updating an existing user").
 */
export function putUserOutcome(stored: Body | undefined, request: Body): Body | string {
  if (!Array.isArray(request.roles)) return 'Validation Failed: 1: roles are missing;';
  const fields: Body = {
    roles: request.roles,
    full_name: request.full_name ?? null,
    email: request.email ?? null,
    metadata: request.metadata ?? null,
    enabled: request.enabled ?? true,
  };
  if (request.password !== undefined) return fields;
  if (!stored) return 'password must be specified unless you are updating an existing user';
  const metadata =
    fields.metadata && stored.metadata
      ? { ...(stored.metadata as Body), ...(fields.metadata as Body) }
      : fields.metadata;
  return { ...stored, ...fields, metadata };
}
