/**
 * `npm run k8s:render`: writes k8s/ (the kustomize base and overlays) from infra/k8s/.
 * `npm run k8s:render -- --check`: writes nothing, and fails naming each file that differs
 * from what the code renders (the tests run the same check).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderFiles } from '../infra/k8s/render.js';

const ROOT = new URL('../k8s/', import.meta.url).pathname;
const check = process.argv.includes('--check');

const stale: string[] = [];
for (const [file, content] of renderFiles()) {
  const path = join(ROOT, file);
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  if (check) {
    stale.push(`k8s/${file}`);
    continue;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  console.log(`wrote k8s/${file}`);
}
if (stale.length) {
  console.error(`out of date (run npm run k8s:render): ${stale.join(', ')}`);
  process.exit(1);
}
if (check) console.log('k8s/ is up to date');
