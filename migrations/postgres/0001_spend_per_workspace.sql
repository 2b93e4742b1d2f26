-- DESIGN §6 "What counts": every execute of the workspace counts against its limits, whichever policy
-- governed it, or none. Executes admitted without a policy were left uncounted: count them now, then
-- rebuild the per-minute totals per workspace from the transactions they summarise.
UPDATE "transactions" SET "spend_state" = 'posted' WHERE "operation" = 'execute' AND "amount" IS NOT NULL AND "spend_state" = 'none' AND "status" = 'succeeded';--> statement-breakpoint
UPDATE "transactions" SET "spend_state" = 'pending' WHERE "operation" = 'execute' AND "amount" IS NOT NULL AND "spend_state" = 'none' AND "status" IN ('pending', 'pending_approval', 'queued');--> statement-breakpoint
DELETE FROM "spend_buckets";--> statement-breakpoint
ALTER TABLE "spend_buckets" DROP CONSTRAINT "spend_buckets_workspace_id_policy_name_minute_category_currency_pk";--> statement-breakpoint
ALTER TABLE "spend_buckets" ADD CONSTRAINT "spend_buckets_workspace_id_minute_category_currency_pk" PRIMARY KEY("workspace_id","minute","category","currency");--> statement-breakpoint
ALTER TABLE "spend_buckets" DROP COLUMN "policy_name";--> statement-breakpoint
INSERT INTO "spend_buckets"("workspace_id", "category", "currency", "minute", "pending", "posted")
  SELECT "workspace_id", coalesce("business_category", ''), coalesce("currency", ''), ("created_at" / 60000) * 60000,
    sum(CASE WHEN "spend_state" = 'pending' THEN "amount" ELSE 0 END),
    sum(CASE WHEN "spend_state" = 'posted' THEN "amount" ELSE 0 END)
  FROM "transactions"
  WHERE "operation" = 'execute' AND "amount" IS NOT NULL AND "spend_state" IN ('pending', 'posted')
  GROUP BY 1, 2, 3, 4;
