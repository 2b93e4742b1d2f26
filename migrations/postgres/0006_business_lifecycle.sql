ALTER TABLE "businesses" ADD COLUMN "status" text DEFAULT 'live' NOT NULL;--> statement-breakpoint
ALTER TABLE "businesses" ADD COLUMN "sandbox_workspaces" text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE "businesses" ADD COLUMN "key_hash" text;--> statement-breakpoint
ALTER TABLE "businesses" ADD COLUMN "previous_signing_secret" text;--> statement-breakpoint
ALTER TABLE "businesses" ADD COLUMN "previous_secret_until" bigint;--> statement-breakpoint
CREATE UNIQUE INDEX "businesses_key_hash" ON "businesses" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "transactions_business_id" ON "transactions" USING btree ("business_id","id");