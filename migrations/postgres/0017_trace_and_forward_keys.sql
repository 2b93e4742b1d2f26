DROP INDEX "signing_keys_current";--> statement-breakpoint
ALTER TABLE "signing_keys" ADD COLUMN "purpose" text DEFAULT 'receipt' NOT NULL;--> statement-breakpoint
ALTER TABLE "transactions" ADD COLUMN "trace_id" text;--> statement-breakpoint
CREATE UNIQUE INDEX "signing_keys_current_purpose" ON "signing_keys" USING btree ("purpose","status") WHERE status = 'current';