import { describe, expect, it } from 'vitest';
import {
  isTransientPgError,
  uniqueViolationFields,
  wrapPgError,
} from '../../src/lib/db/postgres/errors.js';
import { NovaError } from '../../src/lib/errors.js';

const prismaError = (code: string, cause?: object) =>
  Object.assign(new Error(`prisma ${code}`), {
    code,
    meta: cause ? { driverAdapterError: { cause } } : {},
  });

describe('isTransientPgError', () => {
  it.each([
    ['socket refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    [
      'server shutting down (57P01)',
      Object.assign(new Error('terminating connection due to administrator command'), {
        code: '57P01',
      }),
    ],
    ['connection exception class 08', Object.assign(new Error('x'), { code: '08006' })],
    ['serialization failure', Object.assign(new Error('x'), { code: '40001' })],
    ['Prisma pool timeout', prismaError('P2024')],
    ['adapter: not reachable', prismaError('P1001', { kind: 'DatabaseNotReachable' })],
    [
      'adapter: postgres 57P03 inside P2010',
      prismaError('P2010', { kind: 'postgres', originalCode: '57P03' }),
    ],
    ['pg: terminated', new Error('Connection terminated unexpectedly')],
    [
      'wrapped in cause',
      new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'ECONNRESET' }) }),
    ],
  ])('treats %s as transient', (_label, error) => {
    expect(isTransientPgError(error)).toBe(true);
  });

  it.each([
    ['unique violation', prismaError('P2002', { kind: 'UniqueConstraintViolation' })],
    ['syntax error', Object.assign(new Error('syntax error'), { code: '42601' })],
    ['not found', prismaError('P2025')],
    ['a plain string', 'oops'],
    [
      'a NovaError, even one caused by a connection error',
      new NovaError('VERSION_CONFLICT', 'stale', {
        cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
      }),
    ],
  ])('does not retry %s', (_label, error) => {
    expect(isTransientPgError(error)).toBe(false);
  });
});

describe('uniqueViolationFields and wrapPgError', () => {
  it('recognises unique violations from Prisma, the adapter and raw pg', () => {
    expect(
      uniqueViolationFields(Object.assign(prismaError('P2002'), { meta: { target: ['email'] } })),
    ).toEqual(['email']);
    expect(uniqueViolationFields(Object.assign(new Error('dup'), { code: '23505' }))).toEqual([]);
    expect(uniqueViolationFields(new Error('other'))).toBeUndefined();
  });

  it('keeps NovaErrors, maps transient errors to UNAVAILABLE and others to INTERNAL with context', () => {
    const nova = new NovaError('NOT_FOUND', 'gone');
    expect(wrapPgError(nova, 'op')).toBe(nova);
    expect(
      wrapPgError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), 'listTickets'),
    ).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'postgres listTickets: database unavailable (refused)',
    });
    const internal = wrapPgError(new Error('line one\nrelation "x" does not exist'), 'getUser');
    expect(internal).toMatchObject({
      code: 'INTERNAL',
      message: 'postgres getUser failed: relation "x" does not exist',
    });
    expect(internal.cause).toBeInstanceOf(Error);
  });
});
