/**
 * System configuration: JSON values under keys, with optimistic concurrency.
 * set() with `expectedVersion` succeeds only if the stored version matches (0 = "must not
 * exist yet"); a stale version is VERSION_CONFLICT. Without it, the write is unconditional.
 */
import { z } from 'zod';
import type { Prisma } from '../../../generated/prisma/client.js';
import { NovaError } from '../../errors.js';
import { redactConfigRow } from '../../redact.js';
import { optionalText, parseInput } from '../../validation.js';
import { type Actor, auditData } from './audit.js';
import type { PgContext } from './context.js';
import { isRecordNotFound, uniqueViolationFields } from './errors.js';

const configKey = z
  .string()
  .trim()
  .regex(
    /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/,
    'must be dotted lowercase words, e.g. search.max_results',
  )
  .max(200);

const jsonValue: z.ZodType<Prisma.InputJsonValue> = z
  .json()
  .refine((v) => v !== null, 'must not be null') as never;

const setOptions = z.strictObject({
  expectedVersion: z.number().int().min(0).optional(),
  description: optionalText(500),
});
export type SetConfigOptions = z.input<typeof setOptions>;

/** Values are stored as JSON; a single value is capped so config stays config. */
const MAX_VALUE_BYTES = 64 * 1024;

export async function getConfig(ctx: PgContext, key: string) {
  const k = parseInput(configKey, key, 'key');
  return ctx.run('getConfig', () => ctx.prisma.systemConfig.findUnique({ where: { key: k } }));
}

export async function setConfig(
  ctx: PgContext,
  key: string,
  value: unknown,
  options: SetConfigOptions = {},
  actor?: Actor,
) {
  const k = parseInput(configKey, key, 'key');
  const v = parseInput(jsonValue, value, 'value');
  if (Buffer.byteLength(JSON.stringify(v)) > MAX_VALUE_BYTES) {
    throw new NovaError(
      'VALIDATION_FAILED',
      `value: must be at most ${MAX_VALUE_BYTES} bytes of JSON`,
      {
        field: 'value',
      },
    );
  }
  const { expectedVersion, description } = parseInput(setOptions, options);
  const conflict = (message: string, cause?: unknown) =>
    new NovaError('VERSION_CONFLICT', `config ${k} ${message}`, {
      field: 'expectedVersion',
      cause,
    });

  return ctx.run('setConfig', () =>
    ctx.prisma
      .$transaction(async (tx) => {
        const before = await tx.systemConfig.findUnique({ where: { key: k } });
        if (expectedVersion !== undefined && expectedVersion !== (before?.version ?? 0)) {
          throw conflict(
            before
              ? `is at version ${before.version}, not ${expectedVersion}`
              : `does not exist (expected version ${expectedVersion})`,
          );
        }
        const common = {
          value: v,
          updatedBy: actor?.id ?? null,
          ...(description ? { description } : {}),
        };
        const after = before
          ? await tx.systemConfig
              .update({
                where: { key: k, version: before.version },
                data: { ...common, version: { increment: 1 } },
              })
              .catch((error: unknown) => {
                // Only "no row at that version" is a conflict; anything else (a dropped
                // connection) propagates and may be retried.
                throw isRecordNotFound(error) ? conflict('was changed concurrently', error) : error;
              })
          : await tx.systemConfig.create({ data: { key: k, ...common } });
        await tx.auditLog.create({
          data: auditData(
            {
              action: 'config.set',
              entityType: 'system_config',
              entityId: k,
              before: before && redactConfigRow(before),
              after: redactConfigRow(after),
            },
            actor,
          ),
        });
        return after;
      })
      .catch((error: unknown) => {
        // Two first writers racing on a new key: the loser is a conflict, like a stale version.
        if (uniqueViolationFields(error) !== undefined)
          throw conflict('was created concurrently', error);
        throw error;
      }),
  );
}
