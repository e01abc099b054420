/**
 * A checker for the subset of MongoDB's `$jsonSchema` dialect the telemetry validators use
 * (bsonType, required, properties, enum, minimum, maximum), so tests can tell whether a
 * document an event builder produced would pass the collection's validator without a server.
 *
 * Types are decided as the Node driver serializes JS values (bson `serializeInto`): an
 * integer number within int32 is written as 'int', every other number (including -0 and
 * integers beyond int32) as 'double'; bigint as 'long'; undefined as null (the driver's
 * default is ignoreUndefined: false); functions and symbols are not written at all.
 *
 * Any keyword outside the subset throws, so a schema the checker does not understand can
 * never pass silently.
 */

export type BsonType =
  | 'double'
  | 'string'
  | 'object'
  | 'array'
  | 'binData'
  | 'objectId'
  | 'bool'
  | 'date'
  | 'null'
  | 'regex'
  | 'int'
  | 'long'
  | 'decimal';

const BSON_TYPES: ReadonlySet<string> = new Set<BsonType>([
  'double',
  'string',
  'object',
  'array',
  'binData',
  'objectId',
  'bool',
  'date',
  'null',
  'regex',
  'int',
  'long',
  'decimal',
]);

/** `bsonType: 'number'` matches any numeric BSON type. */
const NUMERIC: ReadonlySet<BsonType | undefined> = new Set<BsonType>([
  'int',
  'long',
  'double',
  'decimal',
]);

/** bson's own wrapper classes carry their type in `_bsontype`. */
const BSON_TAGS: Readonly<Record<string, BsonType>> = {
  ObjectId: 'objectId',
  Long: 'long',
  Int32: 'int',
  Double: 'double',
  Decimal128: 'decimal',
};

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

const KEYWORDS: ReadonlySet<string> = new Set([
  'bsonType',
  'required',
  'properties',
  'enum',
  'minimum',
  'maximum',
  'description',
  'title',
]);

export type Schema = Readonly<Record<string, unknown>>;

/** The BSON type the driver writes for `value`, or undefined when it writes nothing. */
export function bsonTypeOf(value: unknown): BsonType | undefined {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'long';
    case 'number':
      return !Object.is(value, -0) &&
        Number.isSafeInteger(value) &&
        value >= INT32_MIN &&
        value <= INT32_MAX
        ? 'int'
        : 'double';
    case 'object':
      break;
    default:
      return undefined; // functions (serializeFunctions: false) and symbols
  }
  const tag = (value as { _bsontype?: unknown })._bsontype;
  if (typeof tag === 'string') {
    const type = BSON_TAGS[tag];
    if (type === undefined) throw new Error(`bsonTypeOf: unsupported BSON value ${tag}`);
    return type;
  }
  if (value instanceof Date) return 'date';
  if (value instanceof Uint8Array) return 'binData';
  if (value instanceof RegExp) return 'regex';
  if (Array.isArray(value)) return 'array';
  return 'object';
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/** A field counts as present when the driver writes it (undefined is written as null). */
const present = (object: Record<string, unknown>, field: string): boolean =>
  Object.hasOwn(object, field) && bsonTypeOf(object[field]) !== undefined;

function bsonEqual(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (isRecord(a) && isRecord(b)) return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}

function numeric(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

function bound(schema: Schema, keyword: 'minimum' | 'maximum', at: string): number | undefined {
  const limit = schema[keyword];
  if (limit === undefined) return undefined;
  if (typeof limit !== 'number') throw new Error(`${keyword} at ${at} must be a number`);
  return limit;
}

const fieldPath = (path: string, field: string) => (path === '' ? field : `${path}.${field}`);

/**
 * The ways `value` breaks `schema`, one readable line each (`field: reason`); [] when it
 * satisfies it. Throws on keywords outside the supported subset.
 */
export function schemaViolations(schema: Schema, value: unknown, path = ''): string[] {
  const at = path === '' ? '(root)' : path;
  for (const keyword of Object.keys(schema)) {
    if (!KEYWORDS.has(keyword))
      throw new Error(`unsupported $jsonSchema keyword ${keyword} at ${at}`);
  }
  const problems: string[] = [];
  const type = bsonTypeOf(value);

  if (schema.bsonType !== undefined) {
    const allowed: unknown[] = Array.isArray(schema.bsonType) ? schema.bsonType : [schema.bsonType];
    for (const t of allowed) {
      if (typeof t !== 'string' || (t !== 'number' && !BSON_TYPES.has(t))) {
        throw new Error(`unknown bsonType ${String(t)} at ${at}`);
      }
    }
    if (!allowed.some((t) => t === type || (t === 'number' && NUMERIC.has(type)))) {
      problems.push(`${at}: bsonType ${type ?? 'none'} is not ${allowed.join('|')}`);
    }
  }

  if (schema.enum !== undefined) {
    if (!Array.isArray(schema.enum)) throw new Error(`enum at ${at} must be an array`);
    if (!schema.enum.some((candidate) => bsonEqual(candidate, value))) {
      problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
    }
  }

  // minimum and maximum constrain numbers only; any other type passes them.
  const minimum = bound(schema, 'minimum', at);
  const maximum = bound(schema, 'maximum', at);
  const number = numeric(value);
  if (number !== undefined) {
    if (minimum !== undefined && number < minimum) {
      problems.push(`${at}: ${number} is below the minimum ${minimum}`);
    }
    if (maximum !== undefined && number > maximum) {
      problems.push(`${at}: ${number} is above the maximum ${maximum}`);
    }
  }

  // required and properties constrain objects only.
  if (type === 'object' && isRecord(value)) {
    if (schema.required !== undefined) {
      if (!Array.isArray(schema.required)) throw new Error(`required at ${at} must be an array`);
      for (const field of schema.required) {
        if (typeof field !== 'string') throw new Error(`required at ${at} must list strings`);
        if (!present(value, field)) problems.push(`${fieldPath(path, field)}: required`);
      }
    }
    if (schema.properties !== undefined) {
      if (!isRecord(schema.properties)) throw new Error(`properties at ${at} must be an object`);
      for (const [field, sub] of Object.entries(schema.properties)) {
        if (!isRecord(sub)) throw new Error(`properties.${field} at ${at} must be a schema`);
        if (present(value, field)) {
          problems.push(...schemaViolations(sub, value[field], fieldPath(path, field)));
        }
      }
    }
  }
  return problems;
}
