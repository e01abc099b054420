/**
 * The entry point Pulumi loads (package.json "main"). Pulumi starts a Node.js policy pack with
 * @pulumi/pulumi/cmd/run-policy-pack, which require()s this directory after registering its
 * own ts-node (7.0.1, CommonJS only): it cannot load index.ts, an ES module in a
 * "type": "module" package, and runtime options in PulumiPolicy.yaml do not reach it. So this
 * CommonJS file registers tsx's ESM hooks (tsx is the repository's TypeScript runner) and
 * exports the import of index.ts as a promise, which the runner awaits.
 */
module.exports = import('tsx/esm/api').then(({ register }) => {
  register();
  return import('./index.ts');
});
