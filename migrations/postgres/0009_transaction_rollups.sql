-- Issue 18: the ledger rolled up per workspace and UTC hour, so the summary, the analytics and the
-- console overview read counters instead of scanning `transactions`. Triggers keep the counters inside
-- the statement that changes a transaction or an approval, hence in its database transaction, on every
-- code path. Rows with status 'pending' are left out (readers add them from `transactions_pending`):
-- an execute's hot path then writes one counter, at its finish. The triggers come before the backfill:
-- CREATE TRIGGER locks out writers until this migration commits, so no row is counted twice or missed.
CREATE TABLE "transaction_rollups" (
	"workspace_id" text NOT NULL,
	"hour" bigint NOT NULL,
	"operation" text NOT NULL,
	"agent_id" text NOT NULL,
	"business_id" text NOT NULL,
	"category" text NOT NULL,
	"currency" text NOT NULL,
	"status" text NOT NULL,
	"spend_state" text NOT NULL,
	"approval" text NOT NULL,
	"refused" integer NOT NULL,
	"rule_id" text NOT NULL,
	"requests" bigint DEFAULT 0 NOT NULL,
	"amount" bigint DEFAULT 0 NOT NULL,
	"amounts" bigint DEFAULT 0 NOT NULL,
	"cost_micros" bigint DEFAULT 0 NOT NULL,
	"costs" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "transaction_rollups_pk" PRIMARY KEY("workspace_id","hour","operation","agent_id","business_id","category","currency","status","spend_state","approval","refused","rule_id")
);
--> statement-breakpoint
CREATE FUNCTION transaction_rollups_bump(r transactions, r_approval text, r_sign bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO transaction_rollups (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, requests, amount, amounts, cost_micros, costs)
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
    CASE WHEN r.cost_micros IS NULL THEN 0 ELSE r_sign END
  )
  ON CONFLICT (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id) DO UPDATE SET
    requests = transaction_rollups.requests + excluded.requests, amount = transaction_rollups.amount + excluded.amount, amounts = transaction_rollups.amounts + excluded.amounts, cost_micros = transaction_rollups.cost_micros + excluded.cost_micros, costs = transaction_rollups.costs + excluded.costs;
END
$$;
--> statement-breakpoint
CREATE FUNCTION transaction_rollups_on_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  appr text;
BEGIN
  -- Inline rather than through transaction_rollups_bump: the finish of every execute comes here,
  -- and a nested call with a row argument costs it tens of microseconds more.
  IF TG_OP = 'UPDATE' AND OLD.operation IN ('execute', 'evaluate') AND OLD.status <> 'pending' THEN
    appr := CASE WHEN OLD.approval_id IS NULL THEN ''
      ELSE coalesce((SELECT a.status FROM approvals a WHERE a.id = OLD.approval_id), '') END;
    INSERT INTO transaction_rollups (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, requests, amount, amounts, cost_micros, costs)
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
      CASE WHEN OLD.cost_micros IS NULL THEN 0 ELSE -1 END
    )
    ON CONFLICT (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id) DO UPDATE SET
    requests = transaction_rollups.requests + excluded.requests, amount = transaction_rollups.amount + excluded.amount, amounts = transaction_rollups.amounts + excluded.amounts, cost_micros = transaction_rollups.cost_micros + excluded.cost_micros, costs = transaction_rollups.costs + excluded.costs;
  END IF;
  IF NEW.operation IN ('execute', 'evaluate') AND NEW.status <> 'pending' THEN
    appr := CASE WHEN NEW.approval_id IS NULL THEN ''
      ELSE coalesce((SELECT a.status FROM approvals a WHERE a.id = NEW.approval_id), '') END;
    INSERT INTO transaction_rollups (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id, requests, amount, amounts, cost_micros, costs)
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
      CASE WHEN NEW.cost_micros IS NULL THEN 0 ELSE 1 END
    )
    ON CONFLICT (workspace_id, hour, operation, agent_id, business_id, category, currency, status, spend_state, approval, refused, rule_id) DO UPDATE SET
    requests = transaction_rollups.requests + excluded.requests, amount = transaction_rollups.amount + excluded.amount, amounts = transaction_rollups.amounts + excluded.amounts, cost_micros = transaction_rollups.cost_micros + excluded.cost_micros, costs = transaction_rollups.costs + excluded.costs;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION transaction_rollups_on_approval() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  txn transactions;
BEGIN
  SELECT * INTO txn FROM transactions
  WHERE id = NEW.transaction_id AND approval_id = NEW.id AND operation IN ('execute', 'evaluate') AND status <> 'pending';
  IF FOUND THEN
    PERFORM transaction_rollups_bump(txn, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status ELSE '' END, -1);
    PERFORM transaction_rollups_bump(txn, NEW.status, 1);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER transaction_rollups_insert AFTER INSERT ON transactions FOR EACH ROW
WHEN (NEW.operation IN ('execute', 'evaluate') AND NEW.status <> 'pending')
EXECUTE FUNCTION transaction_rollups_on_transaction();
--> statement-breakpoint
CREATE TRIGGER transaction_rollups_update AFTER UPDATE ON transactions FOR EACH ROW
WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id OR OLD.agent_id IS DISTINCT FROM NEW.agent_id OR OLD.business_id IS DISTINCT FROM NEW.business_id OR OLD.operation IS DISTINCT FROM NEW.operation OR OLD.status IS DISTINCT FROM NEW.status OR OLD.amount IS DISTINCT FROM NEW.amount OR OLD.currency IS DISTINCT FROM NEW.currency OR OLD.decision IS DISTINCT FROM NEW.decision OR OLD.business_category IS DISTINCT FROM NEW.business_category OR OLD.spend_state IS DISTINCT FROM NEW.spend_state OR OLD.approval_id IS DISTINCT FROM NEW.approval_id OR OLD.cost_micros IS DISTINCT FROM NEW.cost_micros OR OLD.created_at IS DISTINCT FROM NEW.created_at)
EXECUTE FUNCTION transaction_rollups_on_transaction();
--> statement-breakpoint
CREATE TRIGGER transaction_rollups_approval_insert AFTER INSERT ON approvals FOR EACH ROW
EXECUTE FUNCTION transaction_rollups_on_approval();
--> statement-breakpoint
CREATE TRIGGER transaction_rollups_approval_update AFTER UPDATE OF status ON approvals FOR EACH ROW
WHEN (OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION transaction_rollups_on_approval();
--> statement-breakpoint
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
  coalesce(a.status, ''),
  CASE WHEN t.status = 'rejected' AND t.approval_id IS NULL THEN 1 ELSE 0 END,
  CASE WHEN t.status = 'rejected' AND t.approval_id IS NULL THEN coalesce(CAST(t.decision AS jsonb) ->> 'ruleId', '') ELSE '' END,
  count(*),
  coalesce(sum(t.amount), 0),
  count(t.amount),
  coalesce(sum(t.cost_micros), 0),
  count(t.cost_micros)
FROM transactions t LEFT JOIN approvals a ON a.id = t.approval_id
WHERE t.operation IN ('execute', 'evaluate') AND t.status <> 'pending'
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;
