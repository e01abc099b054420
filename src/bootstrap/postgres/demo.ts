/**
 * Demo data for `nova local`: three users (one per default role), tickets and articles,
 * written through the public data layer so the demo exercises the real write path (audit and
 * outbox rows included).
 *
 * Resumable: every step finds before it creates, and the `demo.seeded` config key is written
 * last, so a run that failed halfway is completed by the next one, and a finished one is a
 * no-op.
 */
import type { PostgresStore } from '../../lib/db/postgres.js';

export const DEMO_MARKER = 'demo.seeded';

const USERS = [
  { email: 'admin@nova.example', firstName: 'Ada', lastName: 'Admin', role: 'admin' },
  { email: 'agent@nova.example', firstName: 'Alan', lastName: 'Agent', role: 'agent' },
  { email: 'viewer@nova.example', firstName: 'Vera', lastName: 'Viewer', role: 'viewer' },
] as const;

const TICKETS = [
  {
    title: 'Cannot log in with my passkey',
    priority: 'high',
    category: 'auth',
    tags: ['passkey', 'login'],
  },
  {
    title: 'VPN client installation fails on macOS',
    priority: 'medium',
    category: 'network',
    tags: ['vpn'],
  },
  {
    title: 'Printer on floor 3 is offline',
    priority: 'low',
    category: 'hardware',
    tags: ['printer'],
  },
  {
    title: 'Production database alerts firing',
    priority: 'urgent',
    category: 'infrastructure',
    tags: ['database'],
  },
] as const;

const ARTICLES = [
  {
    slug: 'set-up-a-passkey',
    title: 'Set up a passkey',
    summary: 'Sign in without a password.',
    content: 'Open your profile, choose "Add passkey" and follow your device prompts.',
    category: 'documentation',
    tags: ['passkey'],
    status: 'published',
    visibility: 'public',
  },
  {
    slug: 'vpn-installation-guide',
    title: 'VPN installation guide',
    content: 'Download the client from the self-service portal, then import your profile.',
    category: 'documentation',
    tags: ['vpn', 'setup'],
    status: 'draft',
  },
] as const;

/** Returns true when this call completed the demo data, false when it was already there. */
export async function seedDemoData(store: PostgresStore): Promise<boolean> {
  if (await store.getConfig(DEMO_MARKER)) return false;
  const system = { userAgent: 'nova local (demo data)' };
  const ids: Record<string, string> = {};
  for (const { role, ...user } of USERS) {
    const found =
      (await store.findUserByEmail(user.email)) ??
      (await store.createUser(user, { ...system, id: ids.admin }));
    ids[role] = found.id;
    await store.assignRole(found.id, role, { ...system, id: ids.admin });
  }
  const actor = { ...system, id: ids.admin };
  const [agent, viewer] = [ids.agent ?? '', ids.viewer ?? ''];
  const existing = await store.listTickets({ requesterId: viewer }, { limit: 100 });
  for (const ticket of TICKETS) {
    if (existing.items.some((t) => t.title === ticket.title)) continue;
    await store.createTicket(
      {
        ...ticket,
        tags: [...ticket.tags],
        description: `${ticket.title}.`,
        requesterId: viewer,
        assigneeId: agent,
      },
      actor,
    );
  }
  for (const article of ARTICLES) {
    if (await store.getArticle(article.slug)) continue;
    await store.createArticle({ ...article, tags: [...article.tags], authorId: agent }, actor);
  }
  if (!(await store.getConfig('search.max_results'))) {
    await store.setConfig(
      'search.max_results',
      50,
      { description: 'Upper bound of search page size' },
      actor,
    );
  }
  await store.setConfig(
    DEMO_MARKER,
    true,
    { description: 'Demo data complete (nova local)' },
    actor,
  );
  return true;
}
