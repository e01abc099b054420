/**
 * A SCRAM-SHA-256 password verifier, made here so that CREATE/ALTER ROLE never carries the
 * password itself: a statement can end up in the server's log (log_statement, an error's
 * STATEMENT line), a verifier there gives nothing a login could use. PostgreSQL stores a
 * string of this form as it is (the same thing psql's \password and libpq's
 * PQencryptPasswordConn send); see its src/common/scram-common.c, scram_build_secret().
 *
 * PostgreSQL SASLprep-normalizes the password at login. For ASCII (every generated password
 * here) that is the identity; for other text NFKC is its main step, and the bootstrap logs in
 * with the password afterwards, so a verifier that does not match is found at once.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** PostgreSQL's default scram_iterations. */
const ITERATIONS = 4096;

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

export function scramVerifier(password: string, salt: Buffer = randomBytes(16)): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, ITERATIONS, 32, 'sha256');
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
