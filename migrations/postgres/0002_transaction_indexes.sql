DROP INDEX "transactions_ws_created";--> statement-breakpoint
DROP INDEX "transactions_status_updated";--> statement-breakpoint
DROP INDEX "transactions_ws_business_status";--> statement-breakpoint
DROP INDEX "transactions_queued_release";--> statement-breakpoint
CREATE INDEX "transactions_ws_id" ON "transactions" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "transactions_pending" ON "transactions" USING btree ("updated_at") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "transactions_queued" ON "transactions" USING btree ("release_at") WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX "transactions_succeeded_business" ON "transactions" USING btree ("workspace_id","business_id") WHERE status = 'succeeded' AND operation = 'execute';