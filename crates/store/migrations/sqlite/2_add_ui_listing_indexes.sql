-- The runs page across flows, newest first: without this every run is read and sorted.
CREATE INDEX IF NOT EXISTS runs_v3_idx_ts_desc ON runs_v3 (ts_epoch DESC, flow_id, run_number DESC);
-- The newest value of one metadata field of a step (each run's `end` step result on the runs page).
CREATE INDEX IF NOT EXISTS metadata_v3_idx_flow_run_step_field_ts_desc
  ON metadata_v3 (flow_id, run_number, step_name, field_name, ts_epoch DESC, id DESC);
-- A run whose heartbeat stopped is failed when a task's last attempt failed: its attempt results,
-- without reading the rest of a wide run's metadata.
CREATE INDEX IF NOT EXISTS metadata_v3_idx_attempt_ok
  ON metadata_v3 (flow_id, run_number, step_name, task_id, ts_epoch, value)
  WHERE field_name = 'attempt_ok';
