CREATE TABLE "sso_configs" (
	"workspace_id" text PRIMARY KEY NOT NULL,
	"issuer" text NOT NULL,
	"client_id" text NOT NULL,
	"client_secret" text NOT NULL,
	"scopes" text NOT NULL,
	"role_claim" text NOT NULL,
	"role_mappings" text NOT NULL,
	"default_role" text,
	"jit" integer DEFAULT 0 NOT NULL,
	"required" integer DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sso_domains" (
	"domain" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sso_sign_ins" (
	"state_hash" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"browser_hash" text NOT NULL,
	"nonce" text NOT NULL,
	"code_verifier" text NOT NULL,
	"next" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"used_at" bigint
);
--> statement-breakpoint
ALTER TABLE "console_sessions" ADD COLUMN "via" text DEFAULT 'token' NOT NULL;--> statement-breakpoint
CREATE INDEX "sso_domains_ws" ON "sso_domains" USING btree ("workspace_id");--> statement-breakpoint
CREATE INDEX "sso_sign_ins_expires" ON "sso_sign_ins" USING btree ("expires_at");