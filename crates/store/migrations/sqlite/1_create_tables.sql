-- +goose Up
-- The reference tables in their final form (spec section 8), in SQLite's types. Run numbers, task
-- ids and metadata ids come from AUTOINCREMENT keys, so ids are never reused after a delete.
CREATE TABLE flows_v3 (
  flow_id TEXT PRIMARY KEY,
  user_name TEXT,
  ts_epoch INTEGER NOT NULL,
  tags TEXT,
  system_tags TEXT
);
CREATE INDEX flows_v3_idx_ts_flow_desc ON flows_v3 (ts_epoch DESC, flow_id DESC);

CREATE TABLE runs_v3 (
  flow_id TEXT NOT NULL REFERENCES flows_v3 (flow_id),
  run_number INTEGER PRIMARY KEY AUTOINCREMENT,
  user_name TEXT,
  ts_epoch INTEGER NOT NULL,
  tags TEXT,
  system_tags TEXT,
  run_id TEXT,
  last_heartbeat_ts INTEGER,
  UNIQUE (flow_id, run_number),
  UNIQUE (flow_id, run_id)
);
CREATE INDEX runs_v3_idx_flow_ts_runnum_desc ON runs_v3 (flow_id, ts_epoch DESC, run_number DESC);

CREATE TABLE steps_v3 (
  flow_id TEXT NOT NULL,
  run_number INTEGER NOT NULL,
  step_name TEXT NOT NULL,
  user_name TEXT,
  ts_epoch INTEGER NOT NULL,
  tags TEXT,
  system_tags TEXT,
  run_id TEXT,
  PRIMARY KEY (flow_id, run_number, step_name),
  FOREIGN KEY (flow_id, run_number) REFERENCES runs_v3 (flow_id, run_number),
  UNIQUE (flow_id, run_id, step_name)
);

CREATE TABLE tasks_v3 (
  flow_id TEXT NOT NULL,
  run_number INTEGER NOT NULL,
  step_name TEXT NOT NULL,
  task_id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_name TEXT,
  ts_epoch INTEGER NOT NULL,
  tags TEXT,
  system_tags TEXT,
  run_id TEXT,
  task_name TEXT,
  last_heartbeat_ts INTEGER,
  FOREIGN KEY (flow_id, run_number, step_name) REFERENCES steps_v3 (flow_id, run_number, step_name),
  UNIQUE (flow_id, run_number, step_name, task_name)
);
CREATE INDEX tasks_v3_idx_flow_run_step_ts_task_desc
  ON tasks_v3 (flow_id, run_number, step_name, ts_epoch DESC, task_id DESC);

CREATE TABLE metadata_v3 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  flow_id TEXT NOT NULL,
  run_number INTEGER NOT NULL,
  step_name TEXT NOT NULL,
  task_id INTEGER NOT NULL,
  field_name TEXT NOT NULL,
  value TEXT NOT NULL,
  type TEXT NOT NULL,
  user_name TEXT,
  ts_epoch INTEGER NOT NULL,
  tags TEXT,
  system_tags TEXT,
  run_id TEXT,
  task_name TEXT
);
CREATE INDEX metadata_v3_akey ON metadata_v3 (flow_id, run_number, step_name, task_id, field_name);
CREATE INDEX metadata_v3_idx_flow_run_ts_id_desc ON metadata_v3 (flow_id, run_number, ts_epoch DESC, id DESC);

CREATE TABLE artifact_v3 (
  flow_id TEXT NOT NULL,
  run_number INTEGER NOT NULL,
  step_name TEXT NOT NULL,
  task_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  location TEXT NOT NULL,
  ds_type TEXT NOT NULL,
  sha TEXT,
  type TEXT,
  content_type TEXT,
  user_name TEXT,
  attempt_id INTEGER NOT NULL,
  ts_epoch INTEGER NOT NULL,
  tags TEXT,
  system_tags TEXT,
  run_id TEXT,
  task_name TEXT,
  PRIMARY KEY (flow_id, run_number, step_name, task_id, attempt_id, name)
);
CREATE INDEX artifact_v3_idx_latest_attempt ON artifact_v3 (flow_id, run_number, task_id, name, ts_epoch DESC);
