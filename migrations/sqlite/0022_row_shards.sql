-- A shard column on the counters (spend buckets, roll-ups), part of their keys. On PostgreSQL each
-- gateway process writes rows of its own shard so replicas never queue on one hot row; SQLite has one
-- writer and keeps everything in shard 0. The roll-up triggers name the new key in their ON CONFLICT,
-- so they are dropped before the table is rebuilt (a rename re-reads every trigger) and made again.
DROP TRIGGER transaction_rollups_insert;--> statement-breakpoint
DROP TRIGGER transaction_rollups_update;--> statement-breakpoint
DROP TRIGGER transaction_rollups_approval_insert;--> statement-breakpoint
DROP TRIGGER transaction_rollups_approval_update;--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_spend_buckets` (
	`workspace_id` text NOT NULL,
	`category` text NOT NULL,
	`currency` text NOT NULL,
	`minute` integer NOT NULL,
	`pending` integer DEFAULT 0 NOT NULL,
	`posted` integer DEFAULT 0 NOT NULL,
	`shard` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`workspace_id`, `minute`, `category`, `currency`, `shard`)
);
--> statement-breakpoint
INSERT INTO `__new_spend_buckets`("workspace_id", "category", "currency", "minute", "pending", "posted", "shard") SELECT "workspace_id", "category", "currency", "minute", "pending", "posted", 0 FROM `spend_buckets`;--> statement-breakpoint
DROP TABLE `spend_buckets`;--> statement-breakpoint
ALTER TABLE `__new_spend_buckets` RENAME TO `spend_buckets`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE TABLE `__new_transaction_rollups` (
	`workspace_id` text NOT NULL,
	`hour` integer NOT NULL,
	`operation` text NOT NULL,
	`agent_id` text NOT NULL,
	`business_id` text NOT NULL,
	`category` text NOT NULL,
	`currency` text NOT NULL,
	`status` text NOT NULL,
	`spend_state` text NOT NULL,
	`approval` text NOT NULL,
	`refused` integer NOT NULL,
	`rule_id` text NOT NULL,
	`requests` integer DEFAULT 0 NOT NULL,
	`amount` integer DEFAULT 0 NOT NULL,
	`amounts` integer DEFAULT 0 NOT NULL,
	`cost_micros` integer DEFAULT 0 NOT NULL,
	`costs` integer DEFAULT 0 NOT NULL,
	`shard` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`workspace_id`, `hour`, `operation`, `agent_id`, `business_id`, `category`, `currency`, `status`, `spend_state`, `approval`, `refused`, `rule_id`, `shard`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_transaction_rollups`("workspace_id", "hour", "operation", "agent_id", "business_id", "category", "currency", "status", "spend_state", "approval", "refused", "rule_id", "requests", "amount", "amounts", "cost_micros", "costs", "shard") SELECT "workspace_id", "hour", "operation", "agent_id", "business_id", "category", "currency", "status", "spend_state", "approval", "refused", "rule_id", "requests", "amount", "amounts", "cost_micros", "costs", 0 FROM `transaction_rollups`;--> statement-breakpoint
DROP TABLE `transaction_rollups`;--> statement-breakpoint
ALTER TABLE `__new_transaction_rollups` RENAME TO `transaction_rollups`;
--> statement-breakpoint
CREATE TRIGGER transaction_rollups_insert AFTER INSERT ON transactions
WHEN new.operation IN ('execute', 'evaluate') AND new.status <> 'pending'
BEGIN
  INSERT INTO transaction_rollups (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, requests, amount, amounts, cost_micros, costs)
  SELECT
    new.workspace_id,
    (new.created_at / 3600000) * 3600000,
    new.operation,
    new.agent_id,
    coalesce(new.business_id, ''),
    coalesce(new.business_category, ''),
    coalesce(new.currency, ''),
    new.status,
    new.spend_state,
    coalesce((SELECT a.status FROM approvals a WHERE a.id = new.approval_id), ''),
    CASE WHEN new.status = 'rejected' AND new.approval_id IS NULL THEN 1 ELSE 0 END,
    CASE WHEN new.status = 'rejected' AND new.approval_id IS NULL THEN coalesce(json_extract(new.decision, '$.ruleId'), '') ELSE '' END,
    1,
    coalesce(new.amount, 0),
    CASE WHEN new.amount IS NULL THEN 0 ELSE 1 END,
    coalesce(new.cost_micros, 0),
    CASE WHEN new.cost_micros IS NULL THEN 0 ELSE 1 END
  WHERE true
  ON CONFLICT (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, shard) DO UPDATE SET
    requests = requests + excluded.requests, amount = amount + excluded.amount, amounts = amounts + excluded.amounts, cost_micros = cost_micros + excluded.cost_micros, costs = costs + excluded.costs;
END;
--> statement-breakpoint
CREATE TRIGGER transaction_rollups_update AFTER UPDATE OF workspace_id, agent_id, business_id, operation, status, amount, currency, decision, business_category, spend_state, approval_id, cost_micros, created_at ON transactions
WHEN old.workspace_id IS NOT new.workspace_id OR old.agent_id IS NOT new.agent_id OR old.business_id IS NOT new.business_id OR old.operation IS NOT new.operation OR old.status IS NOT new.status OR old.amount IS NOT new.amount OR old.currency IS NOT new.currency OR old.decision IS NOT new.decision OR old.business_category IS NOT new.business_category OR old.spend_state IS NOT new.spend_state OR old.approval_id IS NOT new.approval_id OR old.cost_micros IS NOT new.cost_micros OR old.created_at IS NOT new.created_at
BEGIN
  INSERT INTO transaction_rollups (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, requests, amount, amounts, cost_micros, costs)
  SELECT
    old.workspace_id,
    (old.created_at / 3600000) * 3600000,
    old.operation,
    old.agent_id,
    coalesce(old.business_id, ''),
    coalesce(old.business_category, ''),
    coalesce(old.currency, ''),
    old.status,
    old.spend_state,
    coalesce((SELECT a.status FROM approvals a WHERE a.id = old.approval_id), ''),
    CASE WHEN old.status = 'rejected' AND old.approval_id IS NULL THEN 1 ELSE 0 END,
    CASE WHEN old.status = 'rejected' AND old.approval_id IS NULL THEN coalesce(json_extract(old.decision, '$.ruleId'), '') ELSE '' END,
    -1,
    -coalesce(old.amount, 0),
    CASE WHEN old.amount IS NULL THEN 0 ELSE -1 END,
    -coalesce(old.cost_micros, 0),
    CASE WHEN old.cost_micros IS NULL THEN 0 ELSE -1 END
  WHERE old.operation IN ('execute', 'evaluate') AND old.status <> 'pending'
  ON CONFLICT (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, shard) DO UPDATE SET
    requests = requests + excluded.requests, amount = amount + excluded.amount, amounts = amounts + excluded.amounts, cost_micros = cost_micros + excluded.cost_micros, costs = costs + excluded.costs;
  INSERT INTO transaction_rollups (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, requests, amount, amounts, cost_micros, costs)
  SELECT
    new.workspace_id,
    (new.created_at / 3600000) * 3600000,
    new.operation,
    new.agent_id,
    coalesce(new.business_id, ''),
    coalesce(new.business_category, ''),
    coalesce(new.currency, ''),
    new.status,
    new.spend_state,
    coalesce((SELECT a.status FROM approvals a WHERE a.id = new.approval_id), ''),
    CASE WHEN new.status = 'rejected' AND new.approval_id IS NULL THEN 1 ELSE 0 END,
    CASE WHEN new.status = 'rejected' AND new.approval_id IS NULL THEN coalesce(json_extract(new.decision, '$.ruleId'), '') ELSE '' END,
    1,
    coalesce(new.amount, 0),
    CASE WHEN new.amount IS NULL THEN 0 ELSE 1 END,
    coalesce(new.cost_micros, 0),
    CASE WHEN new.cost_micros IS NULL THEN 0 ELSE 1 END
  WHERE new.operation IN ('execute', 'evaluate') AND new.status <> 'pending'
  ON CONFLICT (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, shard) DO UPDATE SET
    requests = requests + excluded.requests, amount = amount + excluded.amount, amounts = amounts + excluded.amounts, cost_micros = cost_micros + excluded.cost_micros, costs = costs + excluded.costs;
END;
--> statement-breakpoint
CREATE TRIGGER transaction_rollups_approval_insert AFTER INSERT ON approvals
BEGIN
  INSERT INTO transaction_rollups (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, requests, amount, amounts, cost_micros, costs)
  SELECT
    t.workspace_id,
    (t.created_at / 3600000) * 3600000,
    t.operation,
    t.agent_id,
    coalesce(t.business_id, ''),
    coalesce(t.business_category, ''),
    coalesce(t.currency, ''),
    t.status,
    t.spend_state,
    '',
    CASE WHEN t.status = 'rejected' AND t.approval_id IS NULL THEN 1 ELSE 0 END,
    CASE WHEN t.status = 'rejected' AND t.approval_id IS NULL THEN coalesce(json_extract(t.decision, '$.ruleId'), '') ELSE '' END,
    -1,
    -coalesce(t.amount, 0),
    CASE WHEN t.amount IS NULL THEN 0 ELSE -1 END,
    -coalesce(t.cost_micros, 0),
    CASE WHEN t.cost_micros IS NULL THEN 0 ELSE -1 END
  FROM transactions t WHERE t.id = new.transaction_id AND t.approval_id = new.id AND t.operation IN ('execute', 'evaluate') AND t.status <> 'pending'
  ON CONFLICT (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, shard) DO UPDATE SET
    requests = requests + excluded.requests, amount = amount + excluded.amount, amounts = amounts + excluded.amounts, cost_micros = cost_micros + excluded.cost_micros, costs = costs + excluded.costs;
  INSERT INTO transaction_rollups (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, requests, amount, amounts, cost_micros, costs)
  SELECT
    t.workspace_id,
    (t.created_at / 3600000) * 3600000,
    t.operation,
    t.agent_id,
    coalesce(t.business_id, ''),
    coalesce(t.business_category, ''),
    coalesce(t.currency, ''),
    t.status,
    t.spend_state,
    new.status,
    CASE WHEN t.status = 'rejected' AND t.approval_id IS NULL THEN 1 ELSE 0 END,
    CASE WHEN t.status = 'rejected' AND t.approval_id IS NULL THEN coalesce(json_extract(t.decision, '$.ruleId'), '') ELSE '' END,
    1,
    coalesce(t.amount, 0),
    CASE WHEN t.amount IS NULL THEN 0 ELSE 1 END,
    coalesce(t.cost_micros, 0),
    CASE WHEN t.cost_micros IS NULL THEN 0 ELSE 1 END
  FROM transactions t WHERE t.id = new.transaction_id AND t.approval_id = new.id AND t.operation IN ('execute', 'evaluate') AND t.status <> 'pending'
  ON CONFLICT (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, shard) DO UPDATE SET
    requests = requests + excluded.requests, amount = amount + excluded.amount, amounts = amounts + excluded.amounts, cost_micros = cost_micros + excluded.cost_micros, costs = costs + excluded.costs;
END;
--> statement-breakpoint
CREATE TRIGGER transaction_rollups_approval_update AFTER UPDATE OF status ON approvals
WHEN old.status IS NOT new.status
BEGIN
  INSERT INTO transaction_rollups (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, requests, amount, amounts, cost_micros, costs)
  SELECT
    t.workspace_id,
    (t.created_at / 3600000) * 3600000,
    t.operation,
    t.agent_id,
    coalesce(t.business_id, ''),
    coalesce(t.business_category, ''),
    coalesce(t.currency, ''),
    t.status,
    t.spend_state,
    old.status,
    CASE WHEN t.status = 'rejected' AND t.approval_id IS NULL THEN 1 ELSE 0 END,
    CASE WHEN t.status = 'rejected' AND t.approval_id IS NULL THEN coalesce(json_extract(t.decision, '$.ruleId'), '') ELSE '' END,
    -1,
    -coalesce(t.amount, 0),
    CASE WHEN t.amount IS NULL THEN 0 ELSE -1 END,
    -coalesce(t.cost_micros, 0),
    CASE WHEN t.cost_micros IS NULL THEN 0 ELSE -1 END
  FROM transactions t WHERE t.id = new.transaction_id AND t.approval_id = new.id AND t.operation IN ('execute', 'evaluate') AND t.status <> 'pending'
  ON CONFLICT (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, shard) DO UPDATE SET
    requests = requests + excluded.requests, amount = amount + excluded.amount, amounts = amounts + excluded.amounts, cost_micros = cost_micros + excluded.cost_micros, costs = costs + excluded.costs;
  INSERT INTO transaction_rollups (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, requests, amount, amounts, cost_micros, costs)
  SELECT
    t.workspace_id,
    (t.created_at / 3600000) * 3600000,
    t.operation,
    t.agent_id,
    coalesce(t.business_id, ''),
    coalesce(t.business_category, ''),
    coalesce(t.currency, ''),
    t.status,
    t.spend_state,
    new.status,
    CASE WHEN t.status = 'rejected' AND t.approval_id IS NULL THEN 1 ELSE 0 END,
    CASE WHEN t.status = 'rejected' AND t.approval_id IS NULL THEN coalesce(json_extract(t.decision, '$.ruleId'), '') ELSE '' END,
    1,
    coalesce(t.amount, 0),
    CASE WHEN t.amount IS NULL THEN 0 ELSE 1 END,
    coalesce(t.cost_micros, 0),
    CASE WHEN t.cost_micros IS NULL THEN 0 ELSE 1 END
  FROM transactions t WHERE t.id = new.transaction_id AND t.approval_id = new.id AND t.operation IN ('execute', 'evaluate') AND t.status <> 'pending'
  ON CONFLICT (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, shard) DO UPDATE SET
    requests = requests + excluded.requests, amount = amount + excluded.amount, amounts = amounts + excluded.amounts, cost_micros = cost_micros + excluded.cost_micros, costs = costs + excluded.costs;
END;
