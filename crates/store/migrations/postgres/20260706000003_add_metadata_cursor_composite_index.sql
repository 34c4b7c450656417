-- +goose NO TRANSACTION
-- +goose Up
-- Keyset pages of a run's metadata.
CREATE INDEX CONCURRENTLY IF NOT EXISTS metadata_v3_idx_flow_run_ts_id_desc
  ON metadata_v3 (flow_id, run_number, ts_epoch DESC, id DESC);
