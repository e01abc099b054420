/**
 * One legacy row at a time into what the write path takes, or a refusal naming why. A row is
 * refused, not repaired: no email, a date that does not parse, a value longer than its column,
 * an urgency or role no map names. The caller reports it with its table and id, and goes on.
 */
import { z } from 'zod';
import type { LegacyPerson, LegacyTicket } from '../../lib/db/postgres/legacy-import.js';
import type { RegisterPasskeyInput } from '../../lib/db/postgres/passkeys.js';
import type { FoundTable } from './inspect.js';
import { lookup, type Mapping } from './mapping.js';

export class Refusal extends Error {}

/**
 * Records `key` as `owner`'s: a key another row took first makes this row a refusal (two rows
 * with one id, two users with one email, two tickets with one id, one credential twice, two
 * config keys that become one).
 */
export function claim(
  taken: Map<string, string>,
  key: string,
  owner: string,
  why: (first: string) => string,
): void {
  const first = taken.get(key);
  if (first !== undefined && first !== owner) throw new Refusal(why(first));
  taken.set(key, owner);
}

type Row = Record<string, unknown>;

/** The field's value as text (trimmed), or undefined when the column is absent or empty. */
export function text(table: FoundTable, row: Row, field: string): string | undefined {
  const column = table.fields[field];
  if (column === undefined) return undefined;
  const value = row[column];
  if (value === null || value === undefined) return undefined;
  const string = (
    value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : String(value)
  ).trim();
  return string === '' ? undefined : string;
}

function bounded(value: string, max: number, field: string): string {
  if (value.length > max)
    throw new Refusal(`${field} is ${value.length} characters (at most ${max})`);
  return value;
}

const emailSchema = z.email();

export function email(table: FoundTable, row: Row): string {
  const value = text(table, row, 'email');
  if (value === undefined) throw new Refusal('no email');
  if (!emailSchema.safeParse(value).success)
    throw new Refusal(`email ${JSON.stringify(value)} is not an address`);
  return bounded(value, 320, 'email');
}

/**
 * A legacy time: ISO 8601 or SQLite's `YYYY-MM-DD HH:MM:SS` (CURRENT_TIMESTAMP's form), read
 * as UTC when it names no offset (SQLite's clock is UTC); or a Unix time in seconds or
 * milliseconds. Anything else (`01/02/2023`, `last tuesday`) is refused, not guessed at.
 */
export function time(table: FoundTable, row: Row, field: string): Date | undefined {
  const column = table.fields[field];
  const value = column === undefined ? undefined : row[column];
  if (value === null || value === undefined || value === '') return undefined;
  const s = String(value).trim();
  let date: Date | undefined;
  if (typeof value === 'number' || typeof value === 'bigint' || /^\d+(\.\d+)?$/.test(s)) {
    const n = Number(value);
    date = new Date(n < 1e11 ? n * 1000 : n);
  } else {
    const iso = ISO_TIME.exec(s);
    if (iso) date = new Date(`${iso[1]}T${iso[2] ?? '00:00:00'}${iso[3] ?? 'Z'}`);
  }
  const year = date?.getUTCFullYear() ?? Number.NaN;
  if (!date || Number.isNaN(date.getTime()) || year < 1990 || year > 2100) {
    throw new Refusal(`${field} ${JSON.stringify(s)} is not a date`);
  }
  return date;
}

/** Date, time (optional) and offset (optional) of an ISO 8601 or SQLite time. */
const ISO_TIME =
  /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?(Z|[+-]\d{2}:?\d{2})?$/;

/** A person from a legacy name: split at the last space, and kept whole as the display name. */
export function person(
  table: FoundTable,
  row: Row,
  overrides: { createdAt?: Date | null; active?: boolean } = {},
): LegacyPerson {
  const address = email(table, row);
  const first = text(table, row, 'firstName');
  const last = text(table, row, 'lastName');
  const whole = text(table, row, 'name') ?? text(table, row, 'displayName');
  let firstName = first ?? '';
  let lastName = last ?? '';
  if (first === undefined && last === undefined && whole !== undefined) {
    const space = whole.lastIndexOf(' ');
    firstName = space > 0 ? whole.slice(0, space).trim() : whole;
    lastName = space > 0 ? whole.slice(space + 1) : '';
  }
  if (firstName === '') firstName = address.split('@')[0] ?? address;
  const displayName = text(table, row, 'displayName') ?? whole ?? null;
  return {
    email: address,
    firstName: bounded(firstName, 100, 'first name'),
    lastName: bounded(lastName, 100, 'last name'),
    displayName: displayName === null ? null : bounded(displayName, 200, 'display name'),
    active: overrides.active ?? true,
    createdAt: overrides.createdAt ?? null,
  };
}

const FALSE = new Set(['0', 'false', 'no', 'f', 'n']);

/** Whether a legacy user is active: `active`/`enabled` true, or `disabled` false. */
export function active(table: FoundTable, row: Row): boolean {
  const on = text(table, row, 'active');
  if (on !== undefined) return !FALSE.has(on.toLowerCase());
  const off = text(table, row, 'disabled');
  return off === undefined || FALSE.has(off.toLowerCase());
}

/** A `logs` row: a ticket submission. */
export function ticket(
  table: FoundTable,
  row: Row,
  sourceId: string,
  mapping: Mapping,
  source: string,
): LegacyTicket {
  const requester = person(table, row);
  const title = text(table, row, 'title');
  if (title === undefined) throw new Refusal('no title');
  const urgency = text(table, row, 'urgency');
  const priority = urgency === undefined ? 'medium' : lookup(mapping.priority, urgency);
  if (priority === undefined) {
    throw new Refusal(
      `urgency ${JSON.stringify(urgency)} has no priority (add it to --map's "priority")`,
    );
  }
  const system = text(table, row, 'system');
  const category = system === undefined ? null : (lookup(mapping.category, system) ?? system);
  const createdAt = time(table, row, 'timestamp');
  if (createdAt === undefined) throw new Refusal('no timestamp');
  const ticketId = text(table, row, 'ticketId');
  const notes = [
    `Imported from the legacy Nova log (row ${sourceId}${ticketId ? `, ticket ${ticketId}` : ''}).`,
    ...(text(table, row, 'servicenowId')
      ? [`ServiceNow: ${text(table, row, 'servicenowId')}.`]
      : []),
    ...(text(table, row, 'emailStatus')
      ? [`Email status: ${text(table, row, 'emailStatus')}.`]
      : []),
  ];
  return {
    sourceId,
    // The source's name keeps two legacy files' equal ticket ids apart: log:INC-1001.
    externalRef: bounded(`${source}:${ticketId ?? `row-${sourceId}`}`, 100, 'ticket id'),
    title: bounded(title, 200, 'title'),
    description: notes.join('\n'),
    priority,
    category: category === null ? null : bounded(category, 100, 'system'),
    createdAt,
    requester,
  };
}

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Bytes a legacy app stored as a BLOB, or as hex, base64url or base64 text (how WebAuthn
 * libraries hand credential ids and keys over); anything else is refused.
 */
export function bytes(table: FoundTable, row: Row, field: string): Uint8Array<ArrayBuffer> {
  const column = table.fields[field];
  const value = column === undefined ? undefined : row[column];
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (typeof value === 'string' && value.length > 0) {
    // Hex first: an even run of hex digits is hex (a base64url id of 16 bytes or more that
    // happened to use only 0-9a-f would be a 1-in-10^10 accident).
    if (/^([0-9a-f]{2})+$/i.test(value)) return new Uint8Array(Buffer.from(value, 'hex'));
    if (BASE64URL.test(value)) return new Uint8Array(Buffer.from(value, 'base64url'));
    if (BASE64.test(value)) return new Uint8Array(Buffer.from(value, 'base64'));
  }
  throw new Refusal(`${field} is neither bytes nor hex or base64`);
}

const TRANSPORTS = new Set(['usb', 'nfc', 'ble', 'smart-card', 'hybrid', 'internal', 'cable']);

/**
 * A passkey row into what novaDb's registerPasskey takes. The public key must be a COSE key
 * (a CBOR map: its first byte 0xA1-0xB7), which is what WebAuthn stores; a legacy app that kept
 * another form (PEM, SPKI) cannot have its passkeys verified here and its rows are refused.
 */
export function passkey(table: FoundTable, row: Row): RegisterPasskeyInput {
  const credentialId = bytes(table, row, 'credentialId');
  const publicKey = bytes(table, row, 'publicKey');
  const first = publicKey[0] ?? 0;
  if (first < 0xa1 || first > 0xb7) throw new Refusal('publicKey is not a COSE key');
  if (credentialId.length > 1023) throw new Refusal('credentialId is longer than 1023 bytes');
  if (publicKey.length > 4096) throw new Refusal('publicKey is longer than 4096 bytes');
  const counter = text(table, row, 'counter');
  if (counter !== undefined && !(/^\d+$/.test(counter) && BigInt(counter) <= 0xffffffffn)) {
    throw new Refusal(`counter ${JSON.stringify(counter)} is not a 32-bit signature count`);
  }
  const listed = text(table, row, 'transports');
  let transports: string[] = [];
  if (listed !== undefined) {
    try {
      const parsed: unknown = JSON.parse(listed);
      transports = Array.isArray(parsed) ? parsed.map(String) : [];
    } catch {
      transports = listed.split(/[,\s]+/);
    }
  }
  const backed = text(table, row, 'backedUp');
  const backedUp = backed !== undefined && !FALSE.has(backed.toLowerCase());
  const nickname = text(table, row, 'nickname');
  return {
    credentialId,
    publicKey,
    signCount: BigInt(counter ?? 0),
    transports: [
      ...new Set(transports.filter((t) => TRANSPORTS.has(t))),
    ] as RegisterPasskeyInput['transports'],
    // A synced (backed-up) credential is a multi-device one (WebAuthn's backup eligibility).
    deviceType: backedUp ? 'multiDevice' : 'singleDevice',
    backedUp,
    ...(nickname ? { nickname: bounded(nickname, 100, 'name') } : {}),
  };
}

/** `legacy.<key>`: the new platform's key form (dotted lower-case words). */
export function configKey(legacy: string): string {
  const words = legacy
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '_')
    .split('.')
    .map((word) => word.replace(/^_+|_+$/g, ''))
    .filter(Boolean);
  if (words.length === 0)
    throw new Refusal(`key ${JSON.stringify(legacy)} has no letters or digits`);
  const key = `legacy.${words.join('.')}`;
  if (key.length > 200)
    throw new Refusal(`key is ${key.length} characters as legacy.* (at most 200)`);
  return key;
}

/** The system config's cap on one value (system-config.ts). */
const MAX_CONFIG_BYTES = 64 * 1024;

/** A config value: its JSON when it is JSON (a number, a list …), else the text itself. */
export function configValue(table: FoundTable, row: Row): unknown {
  const raw = text(table, row, 'value');
  if (raw === undefined) throw new Refusal('no value');
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // Not JSON: kept as the string it is.
  }
  // null is no value here, and 1e999 parses to Infinity, which JSON cannot hold: keep the text.
  if (value === null || (typeof value === 'number' && !Number.isFinite(value))) value = raw;
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_CONFIG_BYTES) {
    throw new Refusal(`value is over ${MAX_CONFIG_BYTES} bytes of JSON`);
  }
  return value;
}
