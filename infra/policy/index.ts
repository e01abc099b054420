/**
 * The `nova-universe` policy pack: `npm run up` runs `pulumi up --policy-pack infra/policy`.
 * Pulumi's Node.js policy runner require()s this directory; package.json's "main", pack.cjs,
 * loads this ESM TypeScript module through tsx (see PulumiPolicy.yaml).
 */
import { PolicyPack } from '@pulumi/policy';
import { novaPolicies } from './policies.js';

new PolicyPack('nova-universe', { policies: novaPolicies() });
