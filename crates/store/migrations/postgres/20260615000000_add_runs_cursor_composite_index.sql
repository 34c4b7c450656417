-- +goose NO TRANSACTION
-- +goose Up
-- Keyset pages of a flow's runs.
CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_v3_idx_flow_ts_runnum_desc
  ON runs_v3 (flow_id, ts_epoch DESC, run_number DESC);
