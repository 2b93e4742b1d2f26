CREATE TABLE `approval_links` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`approval_id` text NOT NULL,
	`position` integer NOT NULL,
	`member_id` text NOT NULL,
	`workspace_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `approval_links_approval` ON `approval_links` (`approval_id`,`member_id`);--> statement-breakpoint
CREATE TABLE `approval_otps` (
	`approval_id` text NOT NULL,
	`position` integer NOT NULL,
	`member_id` text NOT NULL,
	`workspace_id` text NOT NULL,
	`code_hash` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	PRIMARY KEY(`approval_id`, `position`, `member_id`)
);
