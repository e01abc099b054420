/**
 * Who is searching, and what that lets them see. Visibility follows permissions, never a
 * blanket filter on the caller's id (shared/PITFALLS.md): an agent must find every ticket.
 *
 * - Tickets: `tickets:read` sees every ticket; any other signed-in user sees the tickets they
 *   requested; an anonymous caller sees none (FORBIDDEN).
 * - Knowledge base: only published articles, always; `kb:read` adds internal articles to the
 *   public ones.
 *
 * The same rules pick the completion-suggester contexts, because a suggester cannot run a
 * filter query: every suggest input is indexed with the audiences allowed to see it.
 */
import type { estypes } from '@elastic/elasticsearch';
import { NovaError } from '../../errors.js';

export interface Viewer {
  /** null for an anonymous caller (public knowledge-base search). */
  userId: string | null;
  permissions: readonly string[];
}

export const ANONYMOUS: Viewer = Object.freeze({ userId: null, permissions: Object.freeze([]) });

export const STAFF_TICKETS = 'tickets:read';
export const STAFF_KB = 'kb:read';

/** Suggest contexts (category "audience") a document is indexed with. */
export const AUDIENCE = {
  staff: 'staff',
  public: 'public',
  requester: (userId: string) => `requester:${userId}`,
} as const;

const can = (viewer: Viewer, permission: string) => viewer.permissions.includes(permission);

export function ticketVisibility(viewer: Viewer): {
  filter: estypes.QueryDslQueryContainer[];
  audience: string[];
} {
  if (can(viewer, STAFF_TICKETS)) return { filter: [], audience: [AUDIENCE.staff] };
  if (viewer.userId === null) {
    throw new NovaError('FORBIDDEN', 'sign in to search tickets', { field: 'viewer' });
  }
  return {
    filter: [{ term: { requester_id: viewer.userId } }],
    audience: [AUDIENCE.requester(viewer.userId)],
  };
}

export function articleVisibility(
  viewer: Viewer,
  requested?: 'public' | 'internal',
): { filter: estypes.QueryDslQueryContainer[]; audience: string[] } {
  const staff = can(viewer, STAFF_KB);
  if (requested === 'internal' && !staff) {
    throw new NovaError('FORBIDDEN', `internal articles need the ${STAFF_KB} permission`, {
      field: 'filters.visibility',
    });
  }
  const visibility = requested ?? (staff ? undefined : 'public');
  return {
    filter: [{ term: { status: 'published' } }, ...(visibility ? [{ term: { visibility } }] : [])],
    audience: [staff ? AUDIENCE.staff : AUDIENCE.public],
  };
}
