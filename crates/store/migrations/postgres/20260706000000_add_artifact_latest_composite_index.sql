-- +goose NO TRANSACTION
-- +goose Up
-- Newest artifact per task and name, and its keyset pages.
CREATE INDEX CONCURRENTLY IF NOT EXISTS artifact_v3_idx_latest_attempt
  ON artifact_v3 (flow_id, run_number, task_id, name, ts_epoch DESC);
