CREATE TABLE `channel_messages` (
	`workspace_id` text NOT NULL,
	`approval_id` text NOT NULL,
	`position` integer NOT NULL,
	`channel` text NOT NULL,
	`ts` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`approval_id`, `position`, `channel`)
);
--> statement-breakpoint
CREATE INDEX `channel_messages_ws` ON `channel_messages` (`workspace_id`);--> statement-breakpoint
CREATE TABLE `channels` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`kind` text NOT NULL,
	`settings` text NOT NULL,
	`secrets` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `channels_ws_kind` ON `channels` (`workspace_id`,`kind`);--> statement-breakpoint
CREATE TABLE `policy_sources` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`provider` text NOT NULL,
	`repository` text NOT NULL,
	`path` text NOT NULL,
	`branch` text NOT NULL,
	`token` text,
	`webhook_secret` text NOT NULL,
	`last_commit` text,
	`last_status` text,
	`last_error` text,
	`last_synced_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `policy_sources_ws_name` ON `policy_sources` (`workspace_id`,`name`);--> statement-breakpoint
CREATE TABLE `slack_users` (
	`workspace_id` text NOT NULL,
	`slack_user_id` text NOT NULL,
	`member_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `slack_user_id`)
);
--> statement-breakpoint
CREATE INDEX `slack_users_member` ON `slack_users` (`member_id`);--> statement-breakpoint
ALTER TABLE `policy_versions` ADD `commit_id` text;--> statement-breakpoint
ALTER TABLE `policy_versions` ADD `commit_author` text;