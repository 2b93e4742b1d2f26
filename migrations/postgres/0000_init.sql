CREATE TABLE "agent_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"key_hash" text NOT NULL,
	"key_prefix" text NOT NULL,
	"scopes" text NOT NULL,
	"policy_name" text,
	"created_by" text,
	"created_at" bigint NOT NULL,
	"revoked_at" bigint
);
--> statement-breakpoint
CREATE TABLE "approval_links" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"approval_id" text NOT NULL,
	"position" integer NOT NULL,
	"member_id" text NOT NULL,
	"workspace_id" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "approval_otps" (
	"approval_id" text NOT NULL,
	"position" integer NOT NULL,
	"member_id" text NOT NULL,
	"workspace_id" text NOT NULL,
	"code_hash" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"used_at" bigint,
	CONSTRAINT "approval_otps_approval_id_position_member_id_pk" PRIMARY KEY("approval_id","position","member_id")
);
--> statement-breakpoint
CREATE TABLE "approval_stages" (
	"approval_id" text NOT NULL,
	"position" integer NOT NULL,
	"stage_index" integer NOT NULL,
	"role" text NOT NULL,
	"tier" text NOT NULL,
	"quorum" integer NOT NULL,
	"timeout_seconds" integer NOT NULL,
	"on_timeout" text NOT NULL,
	"status" text NOT NULL,
	"activated_at" bigint,
	"deadline_at" bigint,
	"decided_at" bigint,
	CONSTRAINT "approval_stages_approval_id_position_pk" PRIMARY KEY("approval_id","position")
);
--> statement-breakpoint
CREATE TABLE "approval_votes" (
	"approval_id" text NOT NULL,
	"member_id" text NOT NULL,
	"position" integer NOT NULL,
	"decision" text NOT NULL,
	"reason" text,
	"via" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "approval_votes_approval_id_member_id_pk" PRIMARY KEY("approval_id","member_id")
);
--> statement-breakpoint
CREATE TABLE "approvals" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"transaction_id" text NOT NULL,
	"request_hash" text NOT NULL,
	"status" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"action" text NOT NULL,
	"target" text,
	"data" text DEFAULT '{}' NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "businesses" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"category" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"adapter" text NOT NULL,
	"signing_secret" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "confirmation_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"agent_key_id" text NOT NULL,
	"business_id" text NOT NULL,
	"request_hash" text NOT NULL,
	"summary" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"agent_key_id" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"transaction_id" text NOT NULL,
	"response_status" integer,
	"response_body" text,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	CONSTRAINT "idempotency_keys_agent_key_id_key_pk" PRIMARY KEY("agent_key_id","key")
);
--> statement-breakpoint
CREATE TABLE "members" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"email" text NOT NULL,
	"role" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text,
	"kind" text NOT NULL,
	"target_id" text,
	"payload" text NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" bigint NOT NULL,
	"last_error" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "policies" (
	"workspace_id" text NOT NULL,
	"name" text NOT NULL,
	"current_version_id" text NOT NULL,
	"current_version" integer NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "policies_workspace_id_name_pk" PRIMARY KEY("workspace_id","name")
);
--> statement-breakpoint
CREATE TABLE "policy_versions" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"document" text NOT NULL,
	"content_hash" text NOT NULL,
	"created_by" text,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rate_counters" (
	"key" text NOT NULL,
	"window_start" bigint NOT NULL,
	"count" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "rate_counters_key_window_start_pk" PRIMARY KEY("key","window_start")
);
--> statement-breakpoint
CREATE TABLE "spend_buckets" (
	"workspace_id" text NOT NULL,
	"policy_name" text NOT NULL,
	"category" text NOT NULL,
	"currency" text NOT NULL,
	"minute" bigint NOT NULL,
	"pending" bigint DEFAULT 0 NOT NULL,
	"posted" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "spend_buckets_workspace_id_policy_name_minute_category_currency_pk" PRIMARY KEY("workspace_id","policy_name","minute","category","currency")
);
--> statement-breakpoint
CREATE TABLE "transactions" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"agent_key_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"business_id" text NOT NULL,
	"operation" text NOT NULL,
	"status" text NOT NULL,
	"request" text NOT NULL,
	"request_hash" text NOT NULL,
	"amount" bigint,
	"currency" text,
	"data" text,
	"error" text,
	"decision" text,
	"policy_version_id" text,
	"policy_name" text,
	"business_category" text,
	"spend_state" text DEFAULT 'none' NOT NULL,
	"release_at" bigint,
	"approval_id" text,
	"idempotency_key" text,
	"request_id" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhooks" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"url" text NOT NULL,
	"events" text NOT NULL,
	"secret" text NOT NULL,
	"created_at" bigint NOT NULL,
	"deleted_at" bigint
);
--> statement-breakpoint
CREATE TABLE "workspaces" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agent_keys" ADD CONSTRAINT "agent_keys_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "members" ADD CONSTRAINT "members_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "agent_keys_key_hash" ON "agent_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "agent_keys_ws" ON "agent_keys" USING btree ("workspace_id");--> statement-breakpoint
CREATE INDEX "approval_links_approval" ON "approval_links" USING btree ("approval_id","member_id");--> statement-breakpoint
CREATE INDEX "approval_stages_due" ON "approval_stages" USING btree ("status","deadline_at");--> statement-breakpoint
CREATE UNIQUE INDEX "approvals_transaction" ON "approvals" USING btree ("transaction_id");--> statement-breakpoint
CREATE INDEX "approvals_ws_status" ON "approvals" USING btree ("workspace_id","status");--> statement-breakpoint
CREATE INDEX "audit_events_ws_created" ON "audit_events" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE INDEX "businesses_category" ON "businesses" USING btree ("category");--> statement-breakpoint
CREATE INDEX "confirmation_tokens_expires" ON "confirmation_tokens" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "idempotency_keys_expires" ON "idempotency_keys" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "members_token_hash" ON "members" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "members_ws_email" ON "members" USING btree ("workspace_id","email");--> statement-breakpoint
CREATE INDEX "outbox_due" ON "outbox" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "outbox_target" ON "outbox" USING btree ("target_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "policy_versions_ws_name_version" ON "policy_versions" USING btree ("workspace_id","name","version");--> statement-breakpoint
CREATE INDEX "rate_counters_window" ON "rate_counters" USING btree ("window_start");--> statement-breakpoint
CREATE INDEX "transactions_ws_created" ON "transactions" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE INDEX "transactions_status_updated" ON "transactions" USING btree ("status","updated_at");--> statement-breakpoint
CREATE INDEX "transactions_ws_business_status" ON "transactions" USING btree ("workspace_id","business_id","status");--> statement-breakpoint
CREATE INDEX "transactions_queued_release" ON "transactions" USING btree ("status","release_at");--> statement-breakpoint
CREATE INDEX "webhooks_ws" ON "webhooks" USING btree ("workspace_id");