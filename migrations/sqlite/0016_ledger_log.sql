CREATE TABLE `ledger_checkpoints` (
	`workspace_id` text NOT NULL,
	`size` integer NOT NULL,
	`root` text NOT NULL,
	`jws` text NOT NULL,
	`issued_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `size`)
);
--> statement-breakpoint
CREATE INDEX `ledger_checkpoints_issued` ON `ledger_checkpoints` (`workspace_id`,`issued_at`);--> statement-breakpoint
CREATE TABLE `ledger_entries` (
	`workspace_id` text NOT NULL,
	`idx` integer NOT NULL,
	`kind` text NOT NULL,
	`ref` text NOT NULL,
	`jws` text,
	`hash` text,
	`appended_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `idx`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ledger_entries_ref` ON `ledger_entries` (`workspace_id`,`kind`,`ref`);--> statement-breakpoint
CREATE TABLE `ledger_nodes` (
	`workspace_id` text NOT NULL,
	`level` integer NOT NULL,
	`idx` integer NOT NULL,
	`hash` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `level`, `idx`)
);
--> statement-breakpoint
CREATE TABLE `ledger_queue` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`workspace_id` text NOT NULL,
	`kind` text NOT NULL,
	`ref` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ledger_queue_ws` ON `ledger_queue` (`workspace_id`,`id`);--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_receipts` (
	`transaction_id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`seq` integer,
	`jws` text NOT NULL,
	`hash` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_receipts`("transaction_id", "workspace_id", "seq", "jws", "hash", "created_at") SELECT "transaction_id", "workspace_id", "seq", "jws", "hash", "created_at" FROM `receipts`;--> statement-breakpoint
DROP TABLE `receipts`;--> statement-breakpoint
ALTER TABLE `__new_receipts` RENAME TO `receipts`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `receipts_chain` ON `receipts` (`workspace_id`,`seq`);--> statement-breakpoint
-- The ledger log's inbox is filled by triggers (DESIGN §9): whichever code path, replica or version
-- writes a receipt or chains an audit event, its queue row commits with it, so none is left out.
CREATE TRIGGER ledger_queue_receipt AFTER INSERT ON receipts
BEGIN
  INSERT INTO ledger_queue (workspace_id, kind, ref, created_at)
  VALUES (new.workspace_id, 'receipt', new.transaction_id, new.created_at);
END;--> statement-breakpoint
CREATE TRIGGER ledger_queue_audit_insert AFTER INSERT ON audit_events
WHEN new.hash IS NOT NULL
BEGIN
  INSERT INTO ledger_queue (workspace_id, kind, ref, created_at)
  VALUES (coalesce(new.workspace_id, ''), 'audit', new.id, new.created_at);
END;--> statement-breakpoint
CREATE TRIGGER ledger_queue_audit_chained AFTER UPDATE OF hash ON audit_events
WHEN old.hash IS NULL AND new.hash IS NOT NULL
BEGIN
  INSERT INTO ledger_queue (workspace_id, kind, ref, created_at)
  VALUES (coalesce(new.workspace_id, ''), 'audit', new.id, new.created_at);
END;--> statement-breakpoint
-- What was written before: the version 1 receipts (in their chain's order) and the chained audit
-- events become the first entries of their workspace's log, oldest first.
INSERT INTO ledger_queue (workspace_id, kind, ref, created_at)
SELECT workspace_id, kind, ref, created_at FROM (
  SELECT workspace_id, 'receipt' AS kind, transaction_id AS ref, created_at, seq FROM receipts
  UNION ALL
  SELECT coalesce(workspace_id, '') AS workspace_id, 'audit' AS kind, id AS ref, created_at, seq
  FROM audit_events WHERE hash IS NOT NULL
) ORDER BY workspace_id, created_at, kind, seq, ref;
