-- +goose NO TRANSACTION
-- +goose Up
-- The newest value of one metadata field of a step: the runs page reads each run's `end` step
-- result this way. Without it the planner walks the run's metadata in time order, every row of a
-- wide run.
CREATE INDEX CONCURRENTLY IF NOT EXISTS metadata_v3_idx_flow_run_step_field_ts_desc
  ON metadata_v3 (flow_id, run_number, step_name, field_name, ts_epoch DESC, id DESC);
-- A run whose heartbeat stopped is failed when a task's last attempt failed: its attempt results,
-- without reading the rest of a wide run's metadata.
CREATE INDEX CONCURRENTLY IF NOT EXISTS metadata_v3_idx_attempt_ok
  ON metadata_v3 (flow_id, run_number, step_name, task_id, ts_epoch, value)
  WHERE field_name = 'attempt_ok';
