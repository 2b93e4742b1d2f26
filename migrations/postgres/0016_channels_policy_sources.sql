CREATE TABLE "channel_messages" (
	"workspace_id" text NOT NULL,
	"approval_id" text NOT NULL,
	"position" integer NOT NULL,
	"channel" text NOT NULL,
	"ts" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "channel_messages_approval_id_position_channel_pk" PRIMARY KEY("approval_id","position","channel")
);
--> statement-breakpoint
CREATE TABLE "channels" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"kind" text NOT NULL,
	"settings" text NOT NULL,
	"secrets" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "policy_sources" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"name" text NOT NULL,
	"provider" text NOT NULL,
	"repository" text NOT NULL,
	"path" text NOT NULL,
	"branch" text NOT NULL,
	"token" text,
	"webhook_secret" text NOT NULL,
	"last_commit" text,
	"last_status" text,
	"last_error" text,
	"last_synced_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "slack_users" (
	"workspace_id" text NOT NULL,
	"slack_user_id" text NOT NULL,
	"member_id" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "slack_users_workspace_id_slack_user_id_pk" PRIMARY KEY("workspace_id","slack_user_id")
);
--> statement-breakpoint
ALTER TABLE "policy_versions" ADD COLUMN "commit_id" text;--> statement-breakpoint
ALTER TABLE "policy_versions" ADD COLUMN "commit_author" text;--> statement-breakpoint
CREATE INDEX "channel_messages_ws" ON "channel_messages" USING btree ("workspace_id");--> statement-breakpoint
CREATE UNIQUE INDEX "channels_ws_kind" ON "channels" USING btree ("workspace_id","kind");--> statement-breakpoint
CREATE UNIQUE INDEX "policy_sources_ws_name" ON "policy_sources" USING btree ("workspace_id","name");--> statement-breakpoint
CREATE INDEX "slack_users_member" ON "slack_users" USING btree ("member_id");