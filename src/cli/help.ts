/**
 * `nova <command> --help` and `nova help <command>`: that command's lines of the usage (its
 * forms, options and their defaults), an example, and where the full reference is.
 */

/** `nova help`: every command, its forms and options (with their defaults). */
export const USAGE = `Usage: nova <command> [options]

Commands:
  local [--keep-running] [--demo] [--json] Start (or use the configured) PostgreSQL, bootstrap it, print health;
                                           demo data goes into the embedded one (or with --demo)
  bootstrap postgres [--dry-run] [--json]  Apply migrations and seed default roles; --dry-run prints the plan only
  bootstrap mongo [--dry-run] [--json]     Create or reconcile the telemetry collections (validators, TTL and
                                           analytics indexes) and, with MONGO_ADMIN_*, the application user
  bootstrap elastic [--dry-run] [--json]   Create or update the ILM policy, component and index templates, the
                                           versioned search indices behind their aliases and the log data stream
  bootstrap kibana [--dry-run] [--json]    Wait until Kibana's saved objects are available, import those in
                                           dashboards/ that it lacks or holds differently (overwrite), set the
                                           default data view; --dry-run lists every object and what it would do
  bootstrap all [--dry-run] [--json]       PostgreSQL, then MongoDB, Elasticsearch and Kibana when configured
                [--wait 60s]               how long to wait for MongoDB / Elasticsearch / Kibana to be ready
  migrate status [--json]                  Show applied, pending and modified migrations
  migrate-sqlite FILE [--dry-run] [--json] [--map FILE] [--strict] [--source NAME]
                                           Import a legacy Nova log.sqlite (users, roles, config,
                                           ticket log, audit trail): the plan first, then each table;
                                           idempotent and resumable; refused rows are listed
                                           (exit 1); --strict writes nothing if any row is refused;
                                           --source names the file in the import ledger (default:
                                           its base name)
  export [--include-users] [--out FILE]    Stream NDJSON of the data (never password hashes or passkey keys)
  health [--json]                          Check every configured store (exit 1 unless all are up)
  indexer [--once] [--json]                Drain the search outbox into Elasticsearch until Ctrl-C/SIGTERM;
                                           --once: drain what is there now (exit 1 if rows remain)
  reindex tickets|kb|ai_context [--dry-run] [--json]
                                           Rebuild a search index from PostgreSQL into a new versioned index,
                                           swap the alias atomically, catch up, delete the old index
                                           (ai_context: embeds every published article; needs EMBEDDING_URL)
  serve                                    Run the HTTP service on NOVA_HTTP_HOST and NOVA_HTTP_PORT (else PORT,
                                           as hosting platforms set it), default 127.0.0.1:3000;
                                           with no database configured: embedded PostgreSQL, demo data, demo token
  smoke [--url URL] [--token T | --token-file FILE] [--require postgres,mongodb,elasticsearch] [--timeout 60s] [--json]
                                           Poll a running service until /livez, /readyz and /api/health pass
                                           (and every required dependency is up): exit 0 healthy, 1 unhealthy,
                                           2 unreachable
  token create --user EMAIL --name LABEL [--expires-days N] [--scopes a:b,c:d]
                                           Create an API token for the user (printed once); it expires
                                           after N days (default 90, at most 365); --scopes limits it
                                           to some of the user's permissions
  token list --user EMAIL                  List a user's tokens (never the secrets)
  token revoke --user EMAIL --name LABEL | token revoke ID
                                           Revoke a token
  role list [--json]                       Each role with its permissions
  role grant ROLE PERMISSION | role revoke ROLE PERMISSION
                                           Give a role a permission, or take it away (audited, with
                                           the OS user; a revoked default is not granted again by
                                           bootstrap)
  help [COMMAND]                           Show this text, or one command's (also: nova COMMAND --help)
  --version, -v                            Print nova's version, the Node it runs on and the platform

Configuration comes from the environment: see .env.example.
`;

/** Every option any command takes (parseArgs' strict mode refuses the rest). */
export const OPTIONS = {
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  'include-users': { type: 'boolean' },
  out: { type: 'string' },
  'keep-running': { type: 'boolean' },
  demo: { type: 'boolean' },
  wait: { type: 'string' },
  once: { type: 'boolean' },
  url: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  scopes: { type: 'string' },
  require: { type: 'string' },
  timeout: { type: 'string' },
  user: { type: 'string' },
  name: { type: 'string' },
  'expires-days': { type: 'string' },
  map: { type: 'string' },
  strict: { type: 'boolean' },
  source: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** The commands `nova help` lists (its `help` aside), in its order. */
export const COMMANDS: readonly string[] = [
  ...new Set(
    [...USAGE.slice(USAGE.indexOf('Commands:')).matchAll(/^ {2}([a-z][a-z-]+)/gm)].map(
      (m) => m[1] as string,
    ),
  ),
].filter((command) => command !== 'help');

/** One example per command, as a user would type it. */
export const EXAMPLES: Record<string, string[]> = {
  local: ['nova local --keep-running'],
  bootstrap: [
    'nova bootstrap all --dry-run',
    'DATABASE_OWNER_URL=postgresql://nova:…@db/nova_universe nova bootstrap postgres',
  ],
  migrate: ['nova migrate status --json'],
  'migrate-sqlite': [
    'nova migrate-sqlite /srv/nova/log.sqlite --dry-run',
    'nova migrate-sqlite /srv/nova/log.sqlite --map legacy-map.json',
  ],
  export: ['nova export --include-users --out nova.ndjson'],
  health: ['nova health --json'],
  indexer: ['nova indexer --once'],
  reindex: ['nova reindex tickets --dry-run'],
  serve: ['NOVA_HTTP_PORT=8080 nova serve'],
  smoke: ['nova smoke --url http://127.0.0.1:3000 --require postgres --timeout 2m'],
  token: [
    'nova token create --user admin@example.com --name ci --expires-days 30 --scopes health:details',
  ],
  role: ['nova role revoke viewer kb:read'],
};

/** The command's lines of `usage`: each line naming it, and the lines that continue them. */
export function commandHelp(usage: string, command: string): string | undefined {
  const lines = usage.split('\n');
  const own: string[] = [];
  let inside = false;
  for (const line of lines) {
    if (/^ {2}\S/.test(line)) inside = line.startsWith(`  ${command} `) || line === `  ${command}`;
    else if (!/^ {3,}\S/.test(line)) inside = false;
    if (inside) own.push(line);
  }
  if (own.length === 0) return undefined;
  const examples = EXAMPLES[command] ?? [];
  return [
    `Usage: nova ${command} …`,
    '',
    ...own,
    '',
    ...(examples.length ? ['Example:', ...examples.map((e) => `  ${e}`), ''] : []),
    'Every command and option: docs/operations.md. Configuration comes from the environment: docs/configuration.md.',
    '',
  ].join('\n');
}
