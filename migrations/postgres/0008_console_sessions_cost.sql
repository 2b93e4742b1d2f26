CREATE TABLE "agent_prices" (
	"workspace_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"price_micros" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "agent_prices_workspace_id_agent_id_pk" PRIMARY KEY("workspace_id","agent_id")
);
--> statement-breakpoint
CREATE TABLE "console_sessions" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"member_id" text NOT NULL,
	"created_at" bigint NOT NULL,
	"last_seen_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "console_sign_in_links" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"member_id" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"used_at" bigint
);
--> statement-breakpoint
ALTER TABLE "transactions" ADD COLUMN "cost_micros" bigint;--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "evaluation_price_micros" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "console_sessions_member" ON "console_sessions" USING btree ("member_id");--> statement-breakpoint
CREATE INDEX "console_sign_in_links_member" ON "console_sign_in_links" USING btree ("member_id");