-- +goose Up
-- Client-chosen string ids for runs and tasks (orchestrators), and heartbeat columns.
ALTER TABLE runs_v3 ADD COLUMN run_id VARCHAR(255);
ALTER TABLE runs_v3 ADD COLUMN last_heartbeat_ts BIGINT;
ALTER TABLE runs_v3 ADD UNIQUE (flow_id, run_id);

ALTER TABLE steps_v3 ADD COLUMN run_id VARCHAR(255);
ALTER TABLE steps_v3 ADD UNIQUE (flow_id, run_id, step_name);

ALTER TABLE tasks_v3 ADD COLUMN run_id VARCHAR(255);
ALTER TABLE tasks_v3 ADD COLUMN task_name VARCHAR(255);
ALTER TABLE tasks_v3 ADD COLUMN last_heartbeat_ts BIGINT;
ALTER TABLE tasks_v3 ADD UNIQUE (flow_id, run_number, step_name, task_name);

ALTER TABLE metadata_v3 ADD COLUMN run_id VARCHAR(255);
ALTER TABLE metadata_v3 ADD COLUMN task_name VARCHAR(255);

ALTER TABLE artifact_v3 ADD COLUMN run_id VARCHAR(255);
ALTER TABLE artifact_v3 ADD COLUMN task_name VARCHAR(255);
