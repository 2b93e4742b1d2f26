DROP INDEX `approvals_ws_status`;--> statement-breakpoint
CREATE INDEX `approvals_ws_status` ON `approvals` (`workspace_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `audit_events_ws_id` ON `audit_events` (`workspace_id`,`id`);