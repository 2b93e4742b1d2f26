DROP INDEX "approvals_ws_status";--> statement-breakpoint
CREATE INDEX "audit_events_ws_id" ON "audit_events" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "approvals_ws_status" ON "approvals" USING btree ("workspace_id","status","id");