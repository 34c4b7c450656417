-- +goose Up
-- Run listings by time, by flow, by tags and by verified owner.
CREATE INDEX runs_v3_idx_ts_epoch ON runs_v3 (ts_epoch);
CREATE INDEX runs_v3_idx_gin_tags_combined ON runs_v3 USING gin ((tags || system_tags));
CREATE INDEX runs_v3_idx_flow_id_asc_ts_epoch_desc ON runs_v3 (flow_id ASC, ts_epoch DESC);
CREATE INDEX runs_v3_idx_user_asc_ts_epoch_desc ON runs_v3 (
  (CASE WHEN system_tags ? ('user:' || user_name) THEN user_name ELSE NULL END) ASC,
  ts_epoch DESC
);
