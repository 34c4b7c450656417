-- +goose NO TRANSACTION
-- +goose Up
-- Newest-first run listings across flows.
CREATE INDEX CONCURRENTLY IF NOT EXISTS runs_v3_idx_epoch_ts_desc ON runs_v3 (ts_epoch DESC);
