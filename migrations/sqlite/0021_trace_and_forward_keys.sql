DROP INDEX `signing_keys_current`;--> statement-breakpoint
ALTER TABLE `signing_keys` ADD `purpose` text DEFAULT 'receipt' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `signing_keys_current_purpose` ON `signing_keys` (`purpose`,`status`) WHERE status = 'current';--> statement-breakpoint
ALTER TABLE `transactions` ADD `trace_id` text;