#!/usr/bin/env node
/**
 * `nova <command>`: the operator's entry point.
 *
 *   nova local [--keep-running] [--demo] [--json]  embedded (or configured) PostgreSQL, bootstrapped (demo data: embedded or --demo); prints health
 *   nova bootstrap postgres [--dry-run] [--json]   migrate + seed default roles (idempotent)
 *   nova bootstrap mongo [--dry-run] [--json]      telemetry collections, TTLs, indexes, app user (idempotent)
 *   nova bootstrap elastic [--dry-run] [--json]    ILM policy, templates, versioned indices, log data stream (idempotent)
 *   nova bootstrap kibana [--dry-run] [--json]     saved objects from dashboards/, default data view (idempotent)
 *   nova bootstrap all [--dry-run] [--json]        PostgreSQL, then every other configured store
 *                                                 (--wait 60s: bound on waiting for each store)
 *   nova migrate status [--json]              applied / pending / modified migrations (exit 1 unless up to date)
 *   nova export [--include-users] [--out FILE]     NDJSON export (stdout by default)
 *   nova health [--json]                      every configured store (exit 1 unless all are up)
 *   nova indexer [--once] [--json]            drain the search outbox into Elasticsearch: until SIGTERM, or once (exit 1 if rows remain)
 *   nova reindex tickets|kb|ai_context [--dry-run] [--json]  rebuild a search index from PostgreSQL, swap its alias
 *   nova serve                                the HTTP service (embedded PostgreSQL when none is configured)
 *   nova smoke [--url URL] [--token T | --token-file F] [--require a,b] [--timeout 60s] [--json]  poll a running service until healthy
 *   nova token create|list|revoke --user EMAIL [--name LABEL] [--expires-days N] [ID]
 *   nova role list | role grant ROLE PERMISSION | role revoke ROLE PERMISSION
 *   nova --version                            nova's version, the Node it runs on, the platform
 *
 * Exit codes: 0 success, 1 failure, 2 usage error (or a Node older than 24: NODE_UNSUPPORTED).
 */
// First, before any other module is evaluated: refuses a Node older than the CLI supports.
import './cli/node-guard.js';
import { parseArgs } from 'node:util';
import { REINDEX_TARGETS, type ReindexTarget } from './bootstrap/elastic/reindex.js';
import {
  BOOTSTRAP_TARGETS,
  type BootstrapTarget,
  runBootstrap,
  runExport,
  runHealth,
  runIndexer,
  runLocal,
  runMigrateStatus,
  runReindex,
} from './cli/commands.js';
import { commandHelp, OPTIONS, PARSE_OPTIONS, usage } from './cli/help.js';
import { runMigrateSqlite } from './cli/migrate-sqlite.js';
import { reportError, UsageError } from './cli/output.js';
import { runRole } from './cli/role-commands.js';
import { packageVersion, versionLine } from './cli/runtime.js';
import { runServe, runToken } from './cli/service-commands.js';
import { runSmoke, SMOKE_DEPENDENCIES } from './cli/smoke.js';
import { loadConfig } from './config.js';
import { parseDuration } from './lib/duration.js';
import { readPrivateFile } from './lib/private-path.js';

/**
 * The token smoke sends: --token, else the file --token-file names (private to you, as any
 * secret file: refused otherwise), else NOVA_TOKEN. The last two keep it out of process lists.
 */
function smokeToken(token: string | undefined, file: string | undefined): string | undefined {
  if (token !== undefined && file !== undefined) {
    throw new UsageError('give --token or --token-file, not both');
  }
  if (file !== undefined) {
    const text = readPrivateFile(file);
    if (text === undefined) throw new UsageError(`--token-file: no file ${file}`);
    return text.trim();
  }
  return token ?? (process.env.NOVA_TOKEN || undefined);
}

/** `--wait 90s`: how long bootstrap waits for a store to accept connections. */
function waitOption(text: string = OPTIONS.wait.defaults): number {
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new UsageError(`--wait takes a duration such as 30s or 2m (got ${text})`);
  return ms;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: PARSE_OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [command, sub, ...rest] = positionals;
    if (values.version) {
      // ../package.json from src/cli.ts (run by tsx) and from dist/cli.js (compiled) alike.
      const version = packageVersion(new URL('../package.json', import.meta.url));
      const { platform, arch } = process;
      process.stdout.write(
        `${versionLine(version, { node: process.versions.node, platform, arch })}\n`,
      );
      return 0;
    }
    if (values.help || command === undefined || command === 'help') {
      // `nova smoke --help`, `nova help smoke`: that command's part; otherwise all of it.
      const topic = command === 'help' ? sub : command;
      process.stdout.write((topic && commandHelp(topic)) || usage());
      return 0;
    }
    const extra = (n: number) => {
      const unexpected = [sub, ...rest].slice(n).find((p) => p !== undefined);
      if (unexpected) throw new UsageError(`unexpected argument: ${unexpected}`);
    };
    switch (command) {
      case 'local':
        extra(0);
        return await runLocal({
          keepRunning: values['keep-running'] ?? false,
          json: values.json ?? false,
          demo: values.demo ?? false,
        });
      case 'bootstrap':
        if (!BOOTSTRAP_TARGETS.includes(sub as BootstrapTarget)) {
          throw new UsageError(
            `bootstrap needs a target: ${BOOTSTRAP_TARGETS.join(', ')} (got ${sub ?? 'nothing'})`,
          );
        }
        extra(1);
        return await runBootstrap({
          target: sub as BootstrapTarget,
          waitMs: waitOption(values.wait),
          dryRun: values['dry-run'] ?? false,
          json: values.json ?? false,
        });
      case 'migrate-sqlite':
        if (sub === undefined)
          throw new UsageError(
            'migrate-sqlite needs the legacy file: nova migrate-sqlite log.sqlite',
          );
        extra(1);
        return await runMigrateSqlite({
          file: sub,
          dryRun: values['dry-run'] ?? false,
          json: values.json ?? false,
          mapFile: values.map,
          source: values.source,
          strict: values.strict ?? false,
        });
      case 'migrate':
        if (sub !== 'status')
          throw new UsageError(
            'migrate takes one subcommand: status (to apply, run `nova bootstrap postgres`)',
          );
        extra(1);
        return await runMigrateStatus({ json: values.json ?? false });
      case 'export':
        extra(0);
        return await runExport({ includeUsers: values['include-users'] ?? false, out: values.out });
      case 'health':
        extra(0);
        return await runHealth({ json: values.json ?? false });
      case 'indexer':
        extra(0);
        return await runIndexer({ once: values.once ?? false, json: values.json ?? false });
      case 'reindex':
        if (!(sub !== undefined && REINDEX_TARGETS.includes(sub as ReindexTarget))) {
          throw new UsageError(
            `reindex needs a target: ${REINDEX_TARGETS.join(', ')} (got ${sub ?? 'nothing'})`,
          );
        }
        extra(1);
        return await runReindex({
          target: sub as ReindexTarget,
          dryRun: values['dry-run'] ?? false,
          json: values.json ?? false,
        });
      case 'serve':
        extra(0);
        return await runServe();
      case 'smoke': {
        extra(0);
        const required = (values.require ?? '').split(',').filter(Boolean);
        const unknown = required.find(
          (name) => !(SMOKE_DEPENDENCIES as readonly string[]).includes(name),
        );
        if (unknown) {
          throw new UsageError(`--require takes ${SMOKE_DEPENDENCIES.join(', ')} (got ${unknown})`);
        }
        const timeoutMs = parseDuration(values.timeout ?? OPTIONS.timeout.defaults);
        if (timeoutMs === undefined) {
          throw new UsageError(
            `--timeout takes a duration such as 30s or 2m (got ${values.timeout})`,
          );
        }
        return await runSmoke({
          url: values.url ?? `http://127.0.0.1:${loadConfig().service.port}`,
          token: smokeToken(values.token, values['token-file']),
          require: required,
          timeoutMs,
          json: values.json ?? false,
        });
      }
      case 'token': {
        if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') {
          throw new UsageError(`token takes create, list or revoke (got ${sub ?? 'nothing'})`);
        }
        extra(sub === 'revoke' ? 2 : 1);
        const days = values['expires-days'];
        if (days !== undefined && !/^\d{1,4}$/.test(days)) {
          throw new UsageError(`--expires-days takes a whole number of days (got ${days})`);
        }
        return await runToken({
          action: sub,
          id: rest[0],
          user: values.user,
          name: values.name,
          expiresDays: days === undefined ? undefined : Number(days),
          scopes: values.scopes?.split(',').filter(Boolean),
          json: values.json ?? false,
        });
      }
      case 'role': {
        if (sub !== 'list' && sub !== 'grant' && sub !== 'revoke') {
          throw new UsageError(`role takes list, grant or revoke (got ${sub ?? 'nothing'})`);
        }
        extra(sub === 'list' ? 1 : 3);
        if (sub !== 'list' && rest.length < 2) {
          throw new UsageError(
            `role ${sub} takes a ROLE and a PERMISSION, e.g. role ${sub} viewer kb:read`,
          );
        }
        return await runRole({
          action: sub,
          role: rest[0],
          permission: rest[1],
          json: values.json ?? false,
        });
      }
      default:
        throw new UsageError(`unknown command: ${command}`);
    }
  } catch (error) {
    if (
      error instanceof TypeError &&
      'code' in error &&
      String(error.code).startsWith('ERR_PARSE_ARGS')
    ) {
      return reportError(new UsageError(error.message));
    }
    return reportError(error);
  }
}

const code = await main(process.argv.slice(2));
// Exit explicitly, output flushed first: a pool or a timer left open must not keep a finished
// command alive, and nothing afterwards may change its exit code.
await Promise.all(
  [process.stdout, process.stderr].map((s) => new Promise((done) => s.write('', done))),
);
process.exit(code);
