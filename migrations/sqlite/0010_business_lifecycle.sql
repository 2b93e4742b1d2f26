ALTER TABLE `businesses` ADD `status` text DEFAULT 'live' NOT NULL;--> statement-breakpoint
ALTER TABLE `businesses` ADD `sandbox_workspaces` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `businesses` ADD `key_hash` text;--> statement-breakpoint
ALTER TABLE `businesses` ADD `previous_signing_secret` text;--> statement-breakpoint
ALTER TABLE `businesses` ADD `previous_secret_until` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `businesses_key_hash` ON `businesses` (`key_hash`);--> statement-breakpoint
CREATE INDEX `transactions_business_id` ON `transactions` (`business_id`,`id`);