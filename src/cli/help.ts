/**
 * The CLI's own definitions: every command's forms (FORMS) and every option (OPTIONS), with
 * their meanings and defaults. `nova help`, `nova COMMAND --help`, the argument parser and the
 * command reference in docs/operations.md (`npm run docs:generate`) are all made from them.
 */

export interface Form {
  /** As typed after `nova`: the command, its arguments and options, `[…]` when optional. */
  usage: string;
  summary: string;
}

/** Every form of every command, in the order `nova help` lists them. */
export const FORMS: readonly Form[] = [
  {
    usage: 'local [--keep-running] [--demo] [--json]',
    summary:
      'Start (or use the configured) PostgreSQL, bootstrap it, print health; demo data goes into the embedded one (or with --demo)',
  },
  {
    usage: 'bootstrap postgres [--dry-run] [--json]',
    summary: 'Apply migrations, set up the application role and seed default roles',
  },
  {
    usage: 'bootstrap mongo [--dry-run] [--json] [--wait 60s]',
    summary:
      'Create or reconcile the telemetry collections (validators, TTL and analytics indexes) and, with MONGO_ADMIN_*, the application user',
  },
  {
    usage: 'bootstrap elastic [--dry-run] [--json] [--wait 60s]',
    summary:
      'Create or update the ILM policy, component and index templates, the versioned search indices behind their aliases and the log data stream; with ELASTIC_ADMIN_*, the role and users',
  },
  {
    usage: 'bootstrap kibana [--dry-run] [--json] [--wait 60s]',
    summary:
      "Wait until Kibana's saved objects are available, import those in dashboards/ that it lacks or holds differently, set the default data view",
  },
  {
    usage: 'bootstrap all [--dry-run] [--json] [--wait 60s]',
    summary: 'PostgreSQL, then MongoDB, Elasticsearch and Kibana when configured',
  },
  {
    usage: 'migrate status [--json]',
    summary: 'Show applied, pending and modified migrations (exit 1 unless up to date)',
  },
  {
    usage: 'migrate-sqlite FILE [--dry-run] [--json] [--map FILE] [--strict] [--source NAME]',
    summary:
      'Import a legacy Nova log.sqlite (users, roles, config, ticket log, audit trail): the plan first, then each table; idempotent and resumable; refused rows are listed (exit 1)',
  },
  {
    usage: 'export [--include-users] [--out FILE]',
    summary: 'Stream NDJSON of the data (never password hashes or passkey keys)',
  },
  {
    usage: 'health [--json]',
    summary: 'Check every configured store (exit 1 unless all are up)',
  },
  {
    usage: 'indexer [--once] [--json]',
    summary: 'Drain the search outbox into Elasticsearch until Ctrl-C/SIGTERM',
  },
  {
    usage: 'reindex tickets|kb|ai_context [--dry-run] [--json]',
    summary:
      'Rebuild a search index from PostgreSQL into a new versioned index, swap the alias atomically, catch up, delete the old index (ai_context: embeds every published article; needs EMBEDDING_URL)',
  },
  {
    usage: 'serve',
    summary:
      'Run the HTTP service on NOVA_HTTP_HOST and NOVA_HTTP_PORT (else PORT), default 127.0.0.1:3000; with no database configured: embedded PostgreSQL, demo data, demo token',
  },
  {
    usage:
      'smoke [--url URL] [--token T | --token-file FILE] [--require postgres,mongodb,elasticsearch] [--timeout 60s] [--json]',
    summary:
      'Poll a running service until /livez, /readyz and /api/health pass (and every required dependency is up): exit 0 healthy, 1 unhealthy, 2 unreachable',
  },
  {
    usage: 'token create --user EMAIL --name LABEL [--expires-days 90] [--scopes a:b,c:d] [--json]',
    summary: 'Create an API token for the user (printed once)',
  },
  {
    usage: 'token list --user EMAIL [--json]',
    summary: "List a user's tokens (never the secrets)",
  },
  {
    usage: 'token revoke --user EMAIL --name LABEL | token revoke ID',
    summary: 'Revoke a token',
  },
  { usage: 'role list [--json]', summary: 'Each role with its permissions' },
  {
    usage: 'role grant ROLE PERMISSION | role revoke ROLE PERMISSION',
    summary:
      'Give a role a permission, or take it away (audited, with the OS user; a revoked default is not granted again by bootstrap)',
  },
  {
    usage: 'help [COMMAND]',
    summary: "Show this text, or one command's (also: nova COMMAND --help)",
  },
  {
    usage: '--version, -v',
    summary: "Print nova's version, the Node it runs on and the platform",
  },
];

export interface Option {
  type: 'boolean' | 'string';
  short?: string;
  /** What it does; a default the command applies is in `defaults`. */
  meaning: string;
  defaults?: string;
}

/** Every option any command takes (the parser's strict mode refuses the rest). */
export const OPTIONS = {
  'dry-run': { type: 'boolean', meaning: 'print the plan and write nothing' },
  json: { type: 'boolean', meaning: 'print JSON instead of text, and no progress line' },
  wait: {
    type: 'string',
    meaning: 'how long to wait for MongoDB, Elasticsearch or Kibana to be ready',
    defaults: '60s',
  },
  'keep-running': {
    type: 'boolean',
    meaning: 'print DATABASE_URL and serve PostgreSQL until Ctrl-C',
  },
  demo: { type: 'boolean', meaning: 'add the demo data to a configured database too' },
  'include-users': { type: 'boolean', meaning: 'include users (never their password hashes)' },
  out: {
    type: 'string',
    meaning: 'write to a new 0600 file, renamed into place when complete',
    defaults: 'stdout',
  },
  once: {
    type: 'boolean',
    meaning: 'drain what is there now and stop (exit 1 if rows remain)',
  },
  url: {
    type: 'string',
    meaning: 'the service to check',
    defaults: 'http://127.0.0.1 on NOVA_HTTP_PORT, else PORT, else 3000',
  },
  token: {
    type: 'string',
    meaning: 'an API token to send (else --token-file, else NOVA_TOKEN)',
  },
  'token-file': {
    type: 'string',
    meaning: 'read the token from a file private to you (mode 0600, yours)',
  },
  require: {
    type: 'string',
    meaning: 'dependencies that must be up, comma-separated',
    defaults: 'none',
  },
  timeout: { type: 'string', meaning: 'give up after this long', defaults: '60s' },
  user: { type: 'string', meaning: "the token's user, by email" },
  name: { type: 'string', meaning: "the token's label" },
  'expires-days': {
    type: 'string',
    meaning: 'days until the token expires, at most 365',
    defaults: '90',
  },
  scopes: {
    type: 'string',
    meaning: "limit the token to some of the user's permissions, comma-separated",
    defaults: 'all of them',
  },
  map: {
    type: 'string',
    meaning: 'a JSON file mapping legacy roles to roles (over the default table)',
  },
  strict: { type: 'boolean', meaning: 'write nothing if any row would be refused' },
  source: {
    type: 'string',
    meaning: 'the name of the file in the import ledger',
    defaults: 'its base name',
  },
  help: { type: 'boolean', short: 'h', meaning: "show the command's help" },
  version: { type: 'boolean', short: 'v', meaning: "print nova's version" },
} as const satisfies Record<string, Option>;

export type OptionName = keyof typeof OPTIONS;

/** OPTIONS as node:util's parseArgs takes them: type and short only. */
export const PARSE_OPTIONS = Object.fromEntries(
  Object.entries(OPTIONS).map(([name, option]) => [
    name,
    'short' in option ? { type: option.type, short: option.short } : { type: option.type },
  ]),
) as { [N in OptionName]: { type: (typeof OPTIONS)[N]['type']; short?: string } };

/** The commands `nova help` lists (its `help` and `--version` aside), in its order. */
export const COMMANDS: readonly string[] = [
  ...new Set(FORMS.map((form) => form.usage.split(' ')[0] as string)),
].filter((command) => command !== 'help' && !command.startsWith('-'));

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

/** The forms of `command` (`migrate` is not `migrate-sqlite`). */
export function formsOf(command: string): Form[] {
  return FORMS.filter((form) => form.usage.split(' ')[0] === command);
}

/** The options `forms` name, in OPTIONS' order. */
export function optionsOf(forms: readonly Form[]): OptionName[] {
  const named = new Set(
    forms.flatMap((f) => [...f.usage.matchAll(/--([a-z-]+)/g)].map((m) => m[1])),
  );
  return (Object.keys(OPTIONS) as OptionName[]).filter((name) => named.has(name));
}

/** An option as the forms write it (`--wait 60s`, `--url URL`), with its short form. */
export function optionLabel(name: OptionName): string {
  const option: Option = OPTIONS[name];
  const written = FORMS.map((f) => new RegExp(`--${name}( [^\\]\\s|]+)?`).exec(f.usage)).find(
    Boolean,
  );
  return `--${name}${written?.[1] ?? ''}${option.short ? `, -${option.short}` : ''}`;
}

/** An option's meaning with its default, as the help and the reference print it. */
export function optionMeaning(name: OptionName): string {
  const option: Option = OPTIONS[name];
  return option.defaults ? `${option.meaning} (default: ${option.defaults})` : option.meaning;
}

const WIDTH = 100;
const COLUMN = 43;

/** Greedy word wrap: lines of at most `width` characters (a longer word stands alone). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** `label` in the first column and `text` wrapped in the second (below it when too long). */
function entry(label: string, text: string): string[] {
  const indent = ' '.repeat(COLUMN);
  const [first = '', ...more] = wrap(text, WIDTH - COLUMN);
  const head = `  ${label}`;
  const rest = more.map((line) => indent + line);
  return head.length < COLUMN - 1
    ? [head.padEnd(COLUMN) + first, ...rest]
    : [head, indent + first, ...rest];
}

const FOOTER =
  'Every command and option: docs/operations.md. Configuration comes from the environment: docs/configuration.md (and .env.example).';

/** `nova help`: every command's forms, then every option with its default. */
export function usage(): string {
  return [
    'Usage: nova <command> [options]',
    '',
    'Commands:',
    ...FORMS.flatMap((form) => entry(form.usage, form.summary)),
    '',
    'Options:',
    ...(Object.keys(OPTIONS) as OptionName[]).flatMap((name) =>
      entry(optionLabel(name), optionMeaning(name)),
    ),
    '',
    FOOTER,
    '',
  ].join('\n');
}

/** `nova COMMAND --help`: its forms, its options with their defaults, and an example. */
export function commandHelp(command: string): string | undefined {
  const forms = formsOf(command);
  if (forms.length === 0) return undefined;
  const options = optionsOf(forms);
  const examples = EXAMPLES[command] ?? [];
  return [
    `Usage: nova ${command} …`,
    '',
    ...forms.flatMap((form) => entry(form.usage, form.summary)),
    '',
    ...(options.length
      ? ['Options:', ...options.flatMap((n) => entry(optionLabel(n), optionMeaning(n))), '']
      : []),
    ...(examples.length ? ['Example:', ...examples.map((e) => `  ${e}`), ''] : []),
    FOOTER,
    '',
  ].join('\n');
}
