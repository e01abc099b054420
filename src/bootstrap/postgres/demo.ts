/**
 * Demo data for `nova local`: three users (one per default role), tickets and articles,
 * written through the public data layer so the demo exercises the real write path (audit and
 * outbox rows included). Runs once per database: skipped when the demo admin exists.
 */
import type { PostgresStore } from '../../lib/db/postgres.js';

export const DEMO_ADMIN_EMAIL = 'admin@nova.example';

export async function seedDemoData(store: PostgresStore): Promise<boolean> {
  if (await store.findUserByEmail(DEMO_ADMIN_EMAIL)) return false;
  const system = { userAgent: 'nova local (demo data)' };
  const admin = await store.createUser(
    { email: DEMO_ADMIN_EMAIL, firstName: 'Ada', lastName: 'Admin' },
    system,
  );
  const actor = { ...system, id: admin.id };
  const agent = await store.createUser(
    { email: 'agent@nova.example', firstName: 'Alan', lastName: 'Agent' },
    actor,
  );
  const viewer = await store.createUser(
    { email: 'viewer@nova.example', firstName: 'Vera', lastName: 'Viewer' },
    actor,
  );
  await store.assignRole(admin.id, 'admin', actor);
  await store.assignRole(agent.id, 'agent', actor);
  await store.assignRole(viewer.id, 'viewer', actor);

  const tickets = [
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
  for (const ticket of tickets) {
    await store.createTicket(
      {
        ...ticket,
        tags: [...ticket.tags],
        description: `${ticket.title}.`,
        requesterId: viewer.id,
        assigneeId: agent.id,
      },
      actor,
    );
  }
  await store.createArticle(
    {
      slug: 'set-up-a-passkey',
      title: 'Set up a passkey',
      summary: 'Sign in without a password.',
      content: 'Open your profile, choose "Add passkey" and follow your device prompts.',
      category: 'documentation',
      tags: ['passkey'],
      status: 'published',
      visibility: 'public',
      authorId: agent.id,
    },
    actor,
  );
  await store.createArticle(
    {
      slug: 'vpn-installation-guide',
      title: 'VPN installation guide',
      content: 'Download the client from the self-service portal, then import your profile.',
      category: 'documentation',
      tags: ['vpn', 'setup'],
      status: 'draft',
      authorId: agent.id,
    },
    actor,
  );
  await store.setConfig(
    'search.max_results',
    50,
    { expectedVersion: 0, description: 'Upper bound of search page size' },
    actor,
  );
  return true;
}
