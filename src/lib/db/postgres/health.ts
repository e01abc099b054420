/**
 * PostgreSQL health: one round trip, bounded by a timeout, never retried (health must
 * answer fast and honestly; the caller decides what "down" means).
 */
import type { PgContext } from './context.js';

export interface PostgresHealth {
  status: 'up' | 'down';
  latencyMs: number;
  serverVersion?: string;
  error?: string;
}

export async function postgresHealth(ctx: PgContext, timeoutMs = 2000): Promise<PostgresHealth> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  let timer: NodeJS.Timeout | undefined;
  try {
    const query = ctx.prisma.$queryRaw<
      { server_version: string }[]
    >`SELECT current_setting('server_version') AS server_version`;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const rows = await Promise.race([query, timeout]);
    return {
      status: 'up',
      latencyMs: elapsed(),
      serverVersion: rows[0]?.server_version ?? 'unknown',
    };
  } catch (error) {
    const message =
      error instanceof Error ? (error.message.split('\n').at(-1) ?? error.message) : String(error);
    return { status: 'down', latencyMs: elapsed(), error: message.trim() };
  } finally {
    clearTimeout(timer);
  }
}
