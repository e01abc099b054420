/**
 * The documentation's relative links: every file a link names exists, and every `#anchor` is
 * a heading of the file it points into (slugged as GitHub does). A moved section or a renamed
 * heading fails here instead of in a reader's browser.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const IGNORED = new Set(['node_modules', '.git', 'dist', 'reports', '.nova', 'src']);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (IGNORED.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

/** The text outside fenced code blocks (links and headings there are not markdown). */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1 for repeats. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = (heading ?? '')
      .replace(/`/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('documentation links', () => {
  const files = markdownFiles(ROOT);

  it('finds the documentation', () => {
    const names = files.map((file) => relative(ROOT, file));
    expect(names).toEqual(
      expect.arrayContaining(['README.md', 'docs/operations.md', 'k8s/README.md']),
    );
  });

  it('slugs headings as GitHub does', () => {
    expect(
      anchors(
        '# The HTTP service (`nova serve`)\n## CI for your repository (GitHub Actions)\n## A\n## A',
      ),
    ).toEqual(
      new Set(['the-http-service-nova-serve', 'ci-for-your-repository-github-actions', 'a', 'a-1']),
    );
  });

  it('point at files that exist and headings they have', () => {
    const broken: string[] = [];
    for (const file of files) {
      const text = prose(readFileSync(file, 'utf8'));
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (!target || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const into = path ? join(dirname(file), decodeURIComponent(path)) : file;
        const where = `${relative(ROOT, file)} → ${target}`;
        if (!existsSync(into)) {
          broken.push(`${where}: no such file`);
          continue;
        }
        if (anchor && into.endsWith('.md') && !anchors(readFileSync(into, 'utf8')).has(anchor)) {
          broken.push(`${where}: no such heading`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
