CREATE TABLE `approval_stages` (
	`approval_id` text NOT NULL,
	`position` integer NOT NULL,
	`stage_index` integer NOT NULL,
	`role` text NOT NULL,
	`tier` text NOT NULL,
	`quorum` integer NOT NULL,
	`timeout_seconds` integer NOT NULL,
	`on_timeout` text NOT NULL,
	`status` text NOT NULL,
	`activated_at` integer,
	`deadline_at` integer,
	`decided_at` integer,
	PRIMARY KEY(`approval_id`, `position`)
);
--> statement-breakpoint
CREATE INDEX `approval_stages_due` ON `approval_stages` (`status`,`deadline_at`);--> statement-breakpoint
CREATE TABLE `approval_votes` (
	`approval_id` text NOT NULL,
	`member_id` text NOT NULL,
	`position` integer NOT NULL,
	`decision` text NOT NULL,
	`reason` text,
	`via` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`approval_id`, `member_id`)
);
--> statement-breakpoint
CREATE TABLE `approvals` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`transaction_id` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `approvals_transaction` ON `approvals` (`transaction_id`);--> statement-breakpoint
CREATE INDEX `approvals_ws_status` ON `approvals` (`workspace_id`,`status`);--> statement-breakpoint
CREATE TABLE `outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text,
	`kind` text NOT NULL,
	`target_id` text,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `outbox_due` ON `outbox` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `outbox_target` ON `outbox` (`target_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`secret` text NOT NULL,
	`created_at` integer NOT NULL,
	`deleted_at` integer
);
--> statement-breakpoint
CREATE INDEX `webhooks_ws` ON `webhooks` (`workspace_id`);