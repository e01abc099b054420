/**
 * What `npm run up` asks of the Docker engine itself, beyond being reachable:
 * - memory: the containers' limits added up (databases and Elasticsearch do use theirs: the
 *   heap is locked) against what the engine has (`docker info` MemTotal). The defaults come
 *   to about 11.5 GB, and Docker Desktop often gives its VM 8 GB: the stack would start and
 *   then lose members to the OOM killer one by one.
 * - images: every pinned image present, or pulled now, so a tag that does not exist (or a
 *   registry out of reach) is one clear line before anything changes, instead of a provider
 *   error halfway through `up`.
 */
import { type ImageName, TOOL_IMAGES } from './images.js';
import type { PreflightReport, Probes, Problem } from './preflight.js';
import { PLAIN, type Progress } from './progress.js';
import { ONE_SHOT_MEMORY_MB, type StackSettings } from './settings.js';

/** The memory the stack's containers may use at once, in MB. */
export function stackMemoryMb(s: StackSettings): number {
  return (
    s.postgres.memoryMb +
    s.mongo.memoryMb * s.mongo.members +
    s.elastic.memoryMb * s.elastic.nodes +
    s.kibana.memoryMb +
    s.service.memoryMb +
    // The bootstrap and reindex steps run one at a time, beside everything else.
    ONE_SHOT_MEMORY_MB +
    (s.extras.pgAdmin ? s.pgAdmin.memoryMb : 0) +
    (s.extras.mongoExpress ? s.mongoExpress.memoryMb : 0) +
    (s.extras.otelCollector ? s.otelCollector.memoryMb : 0)
  );
}

/** Above this share of the engine's memory the stack still starts, with a warning. */
const TIGHT = 0.85;

/** The failure or warning for an engine with `memTotalBytes`, or undefined when it fits. */
export function memoryProblem(
  settings: StackSettings,
  memTotalBytes: number | undefined,
): { failure?: Problem; warning?: Problem } {
  if (!memTotalBytes || memTotalBytes <= 0) return {};
  const have = Math.floor(memTotalBytes / 2 ** 20);
  const need = stackMemoryMb(settings);
  if (need <= have * TIGHT) return {};
  const small = stackMemoryMb({
    ...settings,
    mongo: { ...settings.mongo, members: 1 },
    elastic: { ...settings.elastic, nodes: 1 },
  });
  const fix = [
    `Give Docker more: Docker Desktop → Settings → Resources → Memory, at least ${Math.ceil(need / 1024 / TIGHT)} GB`,
    ...(small < need
      ? [
          `Or run one Elasticsearch node and one MongoDB member (${small} MB): npm run stack -- config set nova:elasticNodes 1, then npm run stack -- config set nova:mongoMembers 1`,
        ]
      : []),
    'Or lower nova:elasticMemoryMb, nova:mongoMemoryMb, nova:postgresMemoryMb, nova:kibanaMemoryMb',
  ];
  const what = `The stack's containers may use ${need} MB, and the Docker engine has ${have} MB in all (docker info)`;
  return need > have
    ? { failure: { what: `${what}: members would be killed for want of memory.`, fix } }
    : { warning: { what: `${what}, under ${Math.round((1 - TIGHT) * 100)} % to spare.`, fix } };
}

/** Every image `up` will run, with the setting that names it (undefined for tool images). */
export function stackImages(s: StackSettings): { image: string; key?: string }[] {
  const used: ImageName[] = ['postgres', 'mongo', 'elasticsearch', 'kibana'];
  if (s.extras.pgAdmin) used.push('pgAdmin');
  if (s.extras.mongoExpress) used.push('mongoExpress');
  if (s.extras.otelCollector) used.push('otelCollector');
  return [
    ...used.map((name) => ({ image: s.images[name], key: `nova:${name}Image` })),
    ...(s.extras.otelCollector ? [{ image: TOOL_IMAGES.busybox }] : []),
  ];
}

/**
 * Pulls each image that is not present; one failure per image that cannot be had. A pull,
 * which may take minutes, is announced.
 */
export async function pullImages(
  probes: Pick<Probes, 'run'>,
  settings: StackSettings,
  report: PreflightReport,
  progress: Progress = PLAIN,
): Promise<void> {
  for (const { image, key } of stackImages(settings)) {
    progress.step('images', image);
    const present = await probes.run('docker', ['image', 'inspect', '--format', '{{.Id}}', image]);
    if (present.code === 0) continue;
    progress.log(`Pulling ${image} …`);
    progress.busy('images', `pulling ${image}`);
    const pulled = await probes.run('docker', ['pull', '--quiet', image]);
    if (pulled.code === 0) continue;
    const said = pulled.stderr.trim().split('\n').at(-1)?.trim() || `exit ${pulled.code}`;
    report.failures.push({
      what: `The image ${image} could not be pulled: ${said}`,
      fix: [
        `Check that the release exists: docker manifest inspect ${image}`,
        key
          ? `Or pin another release: npm run stack -- config set ${key} <repository:tag>`
          : 'It is a tool image the stack pins itself: check the registry is reachable',
        'Offline or behind a proxy: docker pull it where you can, then docker save | docker load here',
      ],
    });
  }
}
