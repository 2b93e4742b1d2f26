CREATE TABLE `receipts` (
	`transaction_id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`seq` integer NOT NULL,
	`jws` text NOT NULL,
	`hash` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `receipts_chain` ON `receipts` (`workspace_id`,`seq`);--> statement-breakpoint
CREATE TABLE `signing_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`public_jwk` text NOT NULL,
	`private_key` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`retired_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `signing_keys_current` ON `signing_keys` (`status`) WHERE status = 'current';--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_transactions` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`agent_key_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`business_id` text,
	`operation` text NOT NULL,
	`status` text NOT NULL,
	`request` text NOT NULL,
	`request_hash` text NOT NULL,
	`amount` integer,
	`currency` text,
	`data` text,
	`error` text,
	`decision` text,
	`policy_version_id` text,
	`policy_name` text,
	`business_category` text,
	`spend_state` text DEFAULT 'none' NOT NULL,
	`release_at` integer,
	`approval_id` text,
	`idempotency_key` text,
	`request_id` text,
	`callback_url` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_transactions`("id", "workspace_id", "agent_key_id", "agent_id", "business_id", "operation", "status", "request", "request_hash", "amount", "currency", "data", "error", "decision", "policy_version_id", "policy_name", "business_category", "spend_state", "release_at", "approval_id", "idempotency_key", "request_id", "created_at", "updated_at") SELECT "id", "workspace_id", "agent_key_id", "agent_id", "business_id", "operation", "status", "request", "request_hash", "amount", "currency", "data", "error", "decision", "policy_version_id", "policy_name", "business_category", "spend_state", "release_at", "approval_id", "idempotency_key", "request_id", "created_at", "updated_at" FROM `transactions`;--> statement-breakpoint
DROP TABLE `transactions`;--> statement-breakpoint
ALTER TABLE `__new_transactions` RENAME TO `transactions`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `transactions_ws_id` ON `transactions` (`workspace_id`,`id`);--> statement-breakpoint
CREATE INDEX `transactions_pending` ON `transactions` (`updated_at`) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX `transactions_queued` ON `transactions` (`release_at`) WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX `transactions_succeeded_business` ON `transactions` (`workspace_id`,`business_id`) WHERE status = 'succeeded' AND operation = 'execute';--> statement-breakpoint
ALTER TABLE `audit_events` ADD `seq` integer;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `prev_hash` text;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `hash` text;--> statement-breakpoint
CREATE UNIQUE INDEX `audit_events_chain` ON `audit_events` (coalesce("workspace_id", ''),`seq`);--> statement-breakpoint
ALTER TABLE `workspaces` ADD `callback_secret` text;