/**
 * `npm run docs:generate`: writes the generated parts of the docs (the configuration tables,
 * the command reference, .env.example) from the code's own definitions.
 * `npm run docs:generate -- --check`: writes nothing, and fails naming each file that differs
 * (the tests run the same check).
 */
import { writeFileSync } from 'node:fs';
import { generatedDocs, rootUrl } from './docs/generated.js';

const check = process.argv.includes('--check');
const stale: string[] = [];
for (const { file, current, wanted } of generatedDocs()) {
  if (current === wanted) continue;
  if (check) {
    stale.push(file);
    continue;
  }
  writeFileSync(new URL(file, rootUrl), wanted);
  console.log(`wrote ${file}`);
}
if (stale.length) {
  console.error(`out of date (run npm run docs:generate): ${stale.join(', ')}`);
  process.exit(1);
}
if (check) console.log('the generated docs are up to date');
