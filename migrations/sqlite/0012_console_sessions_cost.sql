CREATE TABLE `agent_prices` (
	`workspace_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`price_micros` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `agent_id`)
);
--> statement-breakpoint
CREATE TABLE `console_sessions` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`member_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `console_sessions_member` ON `console_sessions` (`member_id`);--> statement-breakpoint
CREATE TABLE `console_sign_in_links` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`member_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer
);
--> statement-breakpoint
CREATE INDEX `console_sign_in_links_member` ON `console_sign_in_links` (`member_id`);--> statement-breakpoint
ALTER TABLE `transactions` ADD `cost_micros` integer;--> statement-breakpoint
ALTER TABLE `workspaces` ADD `evaluation_price_micros` integer DEFAULT 0 NOT NULL;