-- +goose NO TRANSACTION
-- +goose Up
-- Keyset pages of a step's tasks.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_v3_idx_flow_run_step_ts_task_desc
  ON tasks_v3 (flow_id, run_number, step_name, ts_epoch DESC, task_id DESC);
