-- DESIGN §6 "What counts": every execute of the workspace counts against its limits, whichever policy
-- governed it, or none. Executes admitted without a policy were left uncounted: count them now, then
-- rebuild the per-minute totals per workspace from the transactions they summarise.
UPDATE `transactions` SET `spend_state` = 'posted' WHERE `operation` = 'execute' AND `amount` IS NOT NULL AND `spend_state` = 'none' AND `status` = 'succeeded';--> statement-breakpoint
UPDATE `transactions` SET `spend_state` = 'pending' WHERE `operation` = 'execute' AND `amount` IS NOT NULL AND `spend_state` = 'none' AND `status` IN ('pending', 'pending_approval', 'queued');--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_spend_buckets` (
	`workspace_id` text NOT NULL,
	`category` text NOT NULL,
	`currency` text NOT NULL,
	`minute` integer NOT NULL,
	`pending` integer DEFAULT 0 NOT NULL,
	`posted` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`workspace_id`, `minute`, `category`, `currency`)
);
--> statement-breakpoint
INSERT INTO `__new_spend_buckets`("workspace_id", "category", "currency", "minute", "pending", "posted")
  SELECT "workspace_id", coalesce("business_category", ''), coalesce("currency", ''), ("created_at" / 60000) * 60000,
    sum(CASE WHEN "spend_state" = 'pending' THEN "amount" ELSE 0 END),
    sum(CASE WHEN "spend_state" = 'posted' THEN "amount" ELSE 0 END)
  FROM `transactions`
  WHERE "operation" = 'execute' AND "amount" IS NOT NULL AND "spend_state" IN ('pending', 'posted')
  GROUP BY 1, 2, 3, 4;--> statement-breakpoint
DROP TABLE `spend_buckets`;--> statement-breakpoint
ALTER TABLE `__new_spend_buckets` RENAME TO `spend_buckets`;--> statement-breakpoint
PRAGMA foreign_keys=ON;
