-- Notifications on channel nova_principals whenever what an API token authenticates as may
-- have changed, so every service process drops its cached principals at once (the service's
-- principal cache, src/lib/db/postgres/principal-cache.ts). Payloads:
--   token:<api token id>   a token revoked, its expiry or owner changed, or deleted;
--   user:<user id>         a user (de)activated or deleted, or a role given or taken;
--   all                    a role's permissions changed (any number of users).
-- Triggers fire for every writer, this service or not, and NOTIFY is delivered at commit.
-- last_used_at is written by authentication itself and does not notify. schema.prisma cannot
-- declare triggers: they live here only (keep them when generating later migrations).

CREATE FUNCTION "nova_notify_principals"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  changed RECORD := COALESCE(NEW, OLD);
BEGIN
  IF TG_TABLE_NAME = 'api_tokens' THEN
    PERFORM pg_notify('nova_principals', 'token:' || changed."id");
  ELSIF TG_TABLE_NAME = 'users' THEN
    PERFORM pg_notify('nova_principals', 'user:' || changed."id");
  ELSIF TG_TABLE_NAME = 'user_roles' THEN
    PERFORM pg_notify('nova_principals', 'user:' || changed."user_id");
  ELSE
    PERFORM pg_notify('nova_principals', 'all');
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "api_tokens_notify_principals"
AFTER UPDATE OF "revoked_at", "expires_at", "user_id", "token_hash" OR DELETE ON "api_tokens"
FOR EACH ROW EXECUTE FUNCTION "nova_notify_principals"();

CREATE TRIGGER "users_notify_principals"
AFTER UPDATE OF "active" OR DELETE ON "users"
FOR EACH ROW EXECUTE FUNCTION "nova_notify_principals"();

CREATE TRIGGER "user_roles_notify_principals"
AFTER INSERT OR UPDATE OR DELETE ON "user_roles"
FOR EACH ROW EXECUTE FUNCTION "nova_notify_principals"();

CREATE TRIGGER "role_permissions_notify_principals"
AFTER INSERT OR UPDATE OR DELETE ON "role_permissions"
FOR EACH STATEMENT EXECUTE FUNCTION "nova_notify_principals"();
