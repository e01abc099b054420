-- The default grants the bootstrap's seed has made (src/bootstrap/postgres/seed.ts): each is
-- made once, so one an operator removes is not made again by the next bootstrap. Roles that
-- existed before this table are recorded by the next seed as having had all their defaults.
CREATE TABLE "rbac_seeded_grants" (
    "role_name" VARCHAR(64) NOT NULL,
    "permission_name" VARCHAR(128) NOT NULL,
    "seeded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rbac_seeded_grants_pkey" PRIMARY KEY ("role_name","permission_name")
);
