/**
 * Prisma CLI configuration (Prisma 7 reads the datasource URL from here, not the schema).
 *
 * Only `prisma generate` runs on machines without network access: it needs no database and,
 * with PRISMA_SCHEMA_ENGINE_BINARY pointing at any existing file, downloads nothing (see
 * scripts/prisma-generate.mjs). `prisma migrate status` / `prisma studio` work on connected
 * machines with DATABASE_URL set; migrations themselves are applied by `nova bootstrap postgres`.
 */
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
