/**
 * `npm run dashboards`: writes dashboards/*.ndjson from scripts/dashboards/specs/.
 * `npm run dashboards -- --check`: writes nothing, exits 1 naming every file that differs
 * from what it would write (or that it would not write at all).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderDashboards } from './dashboards/render.js';

const dir = resolve(fileURLToPath(new URL('.', import.meta.url)), '../dashboards');
const check = process.argv.includes('--check');
const files = renderDashboards();
const stale = readdirSync(dir).filter((name) => name.endsWith('.ndjson') && !files.has(name));
const differing = [...files].filter(([name, text]) => {
  try {
    return readFileSync(join(dir, name), 'utf8') !== text;
  } catch (error) {
    // A file not written yet differs; any other read failure is the caller's to see.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
});

if (check) {
  for (const [name] of differing) console.error(`dashboards/${name} differs from the generator`);
  for (const name of stale) console.error(`dashboards/${name} is not generated: remove it`);
  if (differing.length > 0 || stale.length > 0) {
    console.error('run `npm run dashboards` and commit the result');
    process.exit(1);
  }
  console.log(`dashboards/: ${files.size} files up to date`);
} else {
  for (const [name, text] of differing) writeFileSync(join(dir, name), text);
  for (const name of stale) console.warn(`dashboards/${name} is not generated: remove it`);
  console.log(`dashboards/: ${differing.length} of ${files.size} files written`);
}
