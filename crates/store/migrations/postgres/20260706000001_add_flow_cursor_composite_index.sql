-- +goose NO TRANSACTION
-- +goose Up
-- Keyset pages of flows.
CREATE INDEX CONCURRENTLY IF NOT EXISTS flows_v3_idx_ts_flow_desc ON flows_v3 (ts_epoch DESC, flow_id DESC);
