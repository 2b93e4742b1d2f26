-- Counters per process (DESIGN §8: settling an outcome waits for no other replica). Every gateway
-- process adds to spend buckets and roll-ups of its own shard (the `warden.shard` setting its
-- connections carry, a random number per process), so two replicas never queue on one hot row, and
-- never deadlock over two (a batch of admissions and finishes takes the spend bucket and the roll-up
-- in either order). Readers sum over the shards. Rows written before, and by connections without the
-- setting, are shard 0.
ALTER TABLE "spend_buckets" ADD COLUMN "shard" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "spend_buckets" DROP CONSTRAINT "spend_buckets_workspace_id_minute_category_currency_pk";--> statement-breakpoint
ALTER TABLE "spend_buckets" ADD CONSTRAINT "spend_buckets_workspace_id_minute_category_currency_shard_pk" PRIMARY KEY("workspace_id","minute","category","currency","shard");--> statement-breakpoint
ALTER TABLE "transaction_rollups" ADD COLUMN "shard" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "transaction_rollups" DROP CONSTRAINT "transaction_rollups_pk";--> statement-breakpoint
ALTER TABLE "transaction_rollups" ADD CONSTRAINT "transaction_rollups_pk" PRIMARY KEY("workspace_id","hour","operation","agent_id","business_id","category","currency","status","spend_state","approval","refused","rule_id","shard");--> statement-breakpoint
CREATE OR REPLACE FUNCTION transaction_rollups_bump(r transactions, r_approval text, r_sign bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO transaction_rollups (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, requests, amount, amounts, cost_micros, costs, shard)
  VALUES (
    r.workspace_id,
    (r.created_at / 3600000) * 3600000,
    r.operation,
    r.agent_id,
    coalesce(r.business_id, ''),
    coalesce(r.business_category, ''),
    coalesce(r.currency, ''),
    r.status,
    r.spend_state,
    r_approval,
    CASE WHEN r.status = 'rejected' AND r.approval_id IS NULL THEN 1 ELSE 0 END,
    CASE WHEN r.status = 'rejected' AND r.approval_id IS NULL THEN coalesce(CAST(r.decision AS jsonb) ->> 'ruleId', '') ELSE '' END,
    r_sign,
    r_sign * coalesce(r.amount, 0),
    CASE WHEN r.amount IS NULL THEN 0 ELSE r_sign END,
    r_sign * coalesce(r.cost_micros, 0),
    CASE WHEN r.cost_micros IS NULL THEN 0 ELSE r_sign END,
    coalesce(nullif(current_setting('warden.shard', true), '')::integer, 0)
  )
  ON CONFLICT (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, shard) DO UPDATE SET
    requests = transaction_rollups.requests + excluded.requests, amount = transaction_rollups.amount + excluded.amount, amounts = transaction_rollups.amounts + excluded.amounts, cost_micros = transaction_rollups.cost_micros + excluded.cost_micros, costs = transaction_rollups.costs + excluded.costs;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION transaction_rollups_on_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  appr text;
BEGIN
  -- Inline rather than through transaction_rollups_bump: the finish of every execute comes here,
  -- and a nested call with a row argument costs it tens of microseconds more.
  IF TG_OP = 'UPDATE' AND OLD.operation IN ('execute', 'evaluate') AND OLD.status <> 'pending' THEN
    appr := CASE WHEN OLD.approval_id IS NULL THEN ''
      ELSE coalesce((SELECT a.status FROM approvals a WHERE a.id = OLD.approval_id), '') END;
    INSERT INTO transaction_rollups (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, requests, amount, amounts, cost_micros, costs, shard)
    VALUES (
      OLD.workspace_id,
      (OLD.created_at / 3600000) * 3600000,
      OLD.operation,
      OLD.agent_id,
      coalesce(OLD.business_id, ''),
      coalesce(OLD.business_category, ''),
      coalesce(OLD.currency, ''),
      OLD.status,
      OLD.spend_state,
      appr,
      CASE WHEN OLD.status = 'rejected' AND OLD.approval_id IS NULL THEN 1 ELSE 0 END,
      CASE WHEN OLD.status = 'rejected' AND OLD.approval_id IS NULL THEN coalesce(CAST(OLD.decision AS jsonb) ->> 'ruleId', '') ELSE '' END,
      -1,
      -coalesce(OLD.amount, 0),
      CASE WHEN OLD.amount IS NULL THEN 0 ELSE -1 END,
      -coalesce(OLD.cost_micros, 0),
      CASE WHEN OLD.cost_micros IS NULL THEN 0 ELSE -1 END,
      coalesce(nullif(current_setting('warden.shard', true), '')::integer, 0)
    )
    ON CONFLICT (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, shard) DO UPDATE SET
    requests = transaction_rollups.requests + excluded.requests, amount = transaction_rollups.amount + excluded.amount, amounts = transaction_rollups.amounts + excluded.amounts, cost_micros = transaction_rollups.cost_micros + excluded.cost_micros, costs = transaction_rollups.costs + excluded.costs;
  END IF;
  IF NEW.operation IN ('execute', 'evaluate') AND NEW.status <> 'pending' THEN
    appr := CASE WHEN NEW.approval_id IS NULL THEN ''
      ELSE coalesce((SELECT a.status FROM approvals a WHERE a.id = NEW.approval_id), '') END;
    INSERT INTO transaction_rollups (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, requests, amount, amounts, cost_micros, costs, shard)
    VALUES (
      NEW.workspace_id,
      (NEW.created_at / 3600000) * 3600000,
      NEW.operation,
      NEW.agent_id,
      coalesce(NEW.business_id, ''),
      coalesce(NEW.business_category, ''),
      coalesce(NEW.currency, ''),
      NEW.status,
      NEW.spend_state,
      appr,
      CASE WHEN NEW.status = 'rejected' AND NEW.approval_id IS NULL THEN 1 ELSE 0 END,
      CASE WHEN NEW.status = 'rejected' AND NEW.approval_id IS NULL THEN coalesce(CAST(NEW.decision AS jsonb) ->> 'ruleId', '') ELSE '' END,
      1,
      coalesce(NEW.amount, 0),
      CASE WHEN NEW.amount IS NULL THEN 0 ELSE 1 END,
      coalesce(NEW.cost_micros, 0),
      CASE WHEN NEW.cost_micros IS NULL THEN 0 ELSE 1 END,
      coalesce(nullif(current_setting('warden.shard', true), '')::integer, 0)
    )
    ON CONFLICT (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, shard) DO UPDATE SET
    requests = transaction_rollups.requests + excluded.requests, amount = transaction_rollups.amount + excluded.amount, amounts = transaction_rollups.amounts + excluded.amounts, cost_micros = transaction_rollups.cost_micros + excluded.cost_micros, costs = transaction_rollups.costs + excluded.costs;
  END IF;
  RETURN NULL;
END
$$;
