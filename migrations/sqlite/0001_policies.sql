CREATE TABLE `policies` (
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`current_version_id` text NOT NULL,
	`current_version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `name`)
);
--> statement-breakpoint
CREATE TABLE `policy_versions` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`version` integer NOT NULL,
	`document` text NOT NULL,
	`content_hash` text NOT NULL,
	`created_by` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `policy_versions_ws_name_version` ON `policy_versions` (`workspace_id`,`name`,`version`);--> statement-breakpoint
CREATE TABLE `spend_buckets` (
	`workspace_id` text NOT NULL,
	`policy_name` text NOT NULL,
	`category` text NOT NULL,
	`currency` text NOT NULL,
	`minute` integer NOT NULL,
	`pending` integer DEFAULT 0 NOT NULL,
	`posted` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`workspace_id`, `policy_name`, `minute`, `category`, `currency`)
);
--> statement-breakpoint
ALTER TABLE `transactions` ADD `policy_name` text;--> statement-breakpoint
ALTER TABLE `transactions` ADD `business_category` text;--> statement-breakpoint
ALTER TABLE `transactions` ADD `spend_state` text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE `transactions` ADD `release_at` integer;--> statement-breakpoint
ALTER TABLE `transactions` ADD `approval_id` text;--> statement-breakpoint
CREATE INDEX `transactions_ws_business_status` ON `transactions` (`workspace_id`,`business_id`,`status`);--> statement-breakpoint
CREATE INDEX `transactions_queued_release` ON `transactions` (`status`,`release_at`);