/**
 * Who ran a CLI command, for the audit trail: the CLI has no user of the service behind it,
 * so the operating-system account that ran it is recorded (in the row's user agent), e.g.
 * `nova-cli; os-user=alice`.
 */
import { userInfo } from 'node:os';
import type { Actor } from '../lib/db/postgres/audit.js';

export function cliActor(): Actor {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for the uid (some containers): the uid is still someone.
    user = `uid ${process.getuid?.() ?? 'unknown'}`;
  }
  return { userAgent: `nova-cli; os-user=${user}` };
}
