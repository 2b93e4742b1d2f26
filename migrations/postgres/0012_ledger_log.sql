CREATE TABLE "ledger_checkpoints" (
	"workspace_id" text NOT NULL,
	"size" integer NOT NULL,
	"root" text NOT NULL,
	"jws" text NOT NULL,
	"issued_at" bigint NOT NULL,
	CONSTRAINT "ledger_checkpoints_workspace_id_size_pk" PRIMARY KEY("workspace_id","size")
);
--> statement-breakpoint
CREATE TABLE "ledger_entries" (
	"workspace_id" text NOT NULL,
	"idx" integer NOT NULL,
	"kind" text NOT NULL,
	"ref" text NOT NULL,
	"jws" text,
	"hash" text,
	"appended_at" bigint NOT NULL,
	CONSTRAINT "ledger_entries_workspace_id_idx_pk" PRIMARY KEY("workspace_id","idx")
);
--> statement-breakpoint
CREATE TABLE "ledger_nodes" (
	"workspace_id" text NOT NULL,
	"level" integer NOT NULL,
	"idx" integer NOT NULL,
	"hash" text NOT NULL,
	CONSTRAINT "ledger_nodes_workspace_id_level_idx_pk" PRIMARY KEY("workspace_id","level","idx")
);
--> statement-breakpoint
CREATE TABLE "ledger_queue" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "ledger_queue_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"workspace_id" text NOT NULL,
	"kind" text NOT NULL,
	"ref" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "receipts" ALTER COLUMN "seq" DROP NOT NULL;--> statement-breakpoint
CREATE INDEX "ledger_checkpoints_issued" ON "ledger_checkpoints" USING btree ("workspace_id","issued_at");--> statement-breakpoint
CREATE UNIQUE INDEX "ledger_entries_ref" ON "ledger_entries" USING btree ("workspace_id","kind","ref");--> statement-breakpoint
CREATE INDEX "ledger_queue_ws" ON "ledger_queue" USING btree ("workspace_id","id");--> statement-breakpoint
-- The ledger log's inbox is filled by triggers (DESIGN §9): whichever code path, replica or version
-- writes a receipt or chains an audit event, its queue row commits with it, so none is left out.
-- CREATE TRIGGER locks out writers until this migration commits: the backfill below misses none.
CREATE FUNCTION ledger_enqueue_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger_queue (workspace_id, kind, ref, created_at)
  VALUES (NEW.workspace_id, 'receipt', NEW.transaction_id, NEW.created_at);
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE FUNCTION ledger_enqueue_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger_queue (workspace_id, kind, ref, created_at)
  VALUES (coalesce(NEW.workspace_id, ''), 'audit', NEW.id, NEW.created_at);
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER ledger_queue_receipt AFTER INSERT ON receipts
FOR EACH ROW EXECUTE FUNCTION ledger_enqueue_receipt();--> statement-breakpoint
CREATE TRIGGER ledger_queue_audit_insert AFTER INSERT ON audit_events
FOR EACH ROW WHEN (NEW.hash IS NOT NULL) EXECUTE FUNCTION ledger_enqueue_audit();--> statement-breakpoint
CREATE TRIGGER ledger_queue_audit_chained AFTER UPDATE OF hash ON audit_events
FOR EACH ROW WHEN (OLD.hash IS NULL AND NEW.hash IS NOT NULL) EXECUTE FUNCTION ledger_enqueue_audit();--> statement-breakpoint
-- What was written before: the version 1 receipts (in their chain's order) and the chained audit
-- events become the first entries of their workspace's log, oldest first.
INSERT INTO ledger_queue (workspace_id, kind, ref, created_at)
SELECT workspace_id, kind, ref, created_at FROM (
  SELECT workspace_id, 'receipt' AS kind, transaction_id AS ref, created_at, seq FROM receipts
  UNION ALL
  SELECT coalesce(workspace_id, '') AS workspace_id, 'audit' AS kind, id AS ref, created_at, seq
  FROM audit_events WHERE hash IS NOT NULL
) AS written ORDER BY workspace_id, created_at, kind, seq, ref;
