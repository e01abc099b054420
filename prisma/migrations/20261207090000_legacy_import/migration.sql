-- nova migrate-sqlite: a ticket keeps the legacy Nova ticket id it came from (legacy:<id>), so
-- it can be found by it, and a second import cannot make it twice.
ALTER TABLE "support_tickets" ADD COLUMN "external_ref" VARCHAR(100);
CREATE UNIQUE INDEX "support_tickets_external_ref_key" ON "support_tickets"("external_ref");

-- What each legacy row became, per source (a name for the legacy file: its base name unless
-- given): a run skips the rows recorded here (idempotent, resumable), and a row's record is
-- written in the same transaction as what it became.
CREATE TABLE "legacy_imports" (
    "source" VARCHAR(100) NOT NULL,
    "source_table" VARCHAR(64) NOT NULL,
    "source_id" VARCHAR(200) NOT NULL,
    "target_type" VARCHAR(32) NOT NULL,
    "target_id" VARCHAR(200) NOT NULL,
    "imported_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "legacy_imports_pkey" PRIMARY KEY ("source","source_table","source_id")
);
