-- +goose Up
-- Metadata rows may repeat a field: the row id joins the primary key.
ALTER TABLE metadata_v3 DROP CONSTRAINT metadata_v3_pkey;
ALTER TABLE metadata_v3 ADD PRIMARY KEY (id, flow_id, run_number, step_name, task_id, field_name);
CREATE INDEX metadata_v3_akey ON metadata_v3 (flow_id, run_number, step_name, task_id, field_name);
