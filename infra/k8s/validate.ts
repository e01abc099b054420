/**
 * Offline validation of rendered objects, as a cluster's API server would judge them:
 *
 * - built-in kinds against the Kubernetes OpenAPI schema, through kubernetes-models' own
 *   validators;
 * - custom resources against their CRD's `openAPIV3Schema` (crds/, verbatim from the
 *   operators' releases), with ajv.
 *
 * The API server prunes or refuses fields a structural schema does not declare (kubectl
 * applies with field validation Strict, which refuses them: "unknown field"); a typo in a
 * custom resource would otherwise pass here and be dropped there. So every object schema with
 * `properties` is closed (additionalProperties: false) unless it says
 * `x-kubernetes-preserve-unknown-fields`. `x-kubernetes-int-or-string` admits both. The CRDs'
 * CEL rules (`x-kubernetes-validations`) are not evaluated here.
 *
 * kubernetes-models' validators check types and required fields but let unknown fields pass;
 * the built-in objects are written as typed literals (IDeployment, IJob ...), so TypeScript's
 * excess-property check refuses a misspelt field there at compile time.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import type { K8sObject } from './meta.js';

const CRD_DIR = new URL('./crds/', import.meta.url);
const CRD_FILES = [
  'cnpg-v1.30.0-clusters.yaml',
  'eck-v3.5.0-elasticsearches.yaml',
  'eck-v3.5.0-kibanas.yaml',
  'mck-1.10.0-mongodbcommunity.yaml',
];

type Schema = Record<string, unknown>;

/** The CRD schema with the API server's strictness made explicit for ajv. */
export function strictSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema as Schema)) {
    // `properties` maps names to schemas: keep the names, walk the schemas.
    out[key] =
      key === 'properties'
        ? Object.fromEntries(
            Object.entries(value as Schema).map(([name, sub]) => [name, strictSchema(sub)]),
          )
        : strictSchema(value);
  }
  if (out['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  const open = out['x-kubernetes-preserve-unknown-fields'] === true;
  if (out.properties && out.additionalProperties === undefined && !open) {
    out.additionalProperties = false;
  }
  return out;
}

let validators: Map<string, ValidateFunction> | undefined;

/** `apiVersion/kind` → the validator of that served version's schema. */
function crdValidators(): Map<string, ValidateFunction> {
  if (validators) return validators;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  validators = new Map();
  for (const file of CRD_FILES) {
    for (const document of parseAllDocuments(readFileSync(new URL(file, CRD_DIR), 'utf8'))) {
      const crd = document.toJS() as {
        spec: {
          group: string;
          names: { kind: string };
          versions: { name: string; served: boolean; schema: { openAPIV3Schema: unknown } }[];
        };
      } | null;
      if (!crd) continue;
      for (const version of crd.spec.versions.filter((v) => v.served)) {
        validators.set(
          `${crd.spec.group}/${version.name}/${crd.spec.names.kind}`,
          ajv.compile(strictSchema(version.schema.openAPIV3Schema) as Schema),
        );
      }
    }
  }
  return validators;
}

/** kubernetes-models' module path for a built-in kind: `apps/v1/Deployment`, `v1/Service`. */
const modelPath = ({ apiVersion, kind }: K8sObject) => `kubernetes-models/${apiVersion}/${kind}`;

/** What is wrong with `object`, as sentences naming it; an empty list when it is valid. */
export async function validationErrors(object: K8sObject): Promise<string[]> {
  const name = `${object.kind} ${object.metadata.name}`;
  const crd = crdValidators().get(`${object.apiVersion}/${object.kind}`);
  if (crd) {
    if (crd(object)) return [];
    return (crd.errors ?? []).map(
      (e) =>
        `${name}: ${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${e.params.additionalProperty})` : ''}`,
    );
  }
  if (!object.apiVersion.includes('.') || object.apiVersion.includes('.k8s.io/')) {
    const module = (await import(modelPath(object))) as Record<
      string,
      new (
        data: unknown,
      ) => { validate(): void }
    >;
    const Model = module[object.kind];
    if (!Model) return [`${name}: kubernetes-models has no ${object.kind}`];
    try {
      new Model(object).validate();
      return [];
    } catch (error) {
      return [`${name}: ${(error as Error).message}`];
    }
  }
  return [`${name}: no schema for ${object.apiVersion} ${object.kind}`];
}
