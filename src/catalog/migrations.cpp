#include "catalog/migrations.h"

namespace swan::catalog {

const std::vector<Migration>& SqliteMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "core", R"SQL(
CREATE TABLE organizations (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
CREATE TABLE projects (
  id INTEGER PRIMARY KEY,
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
CREATE TABLE branches (
  id INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  is_default INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  UNIQUE (project_id, name)
);
CREATE TABLE buckets (
  id INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
  stage TEXT NOT NULL CHECK (stage IN ('in', 'out')),
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  UNIQUE (branch_id, stage, name)
);
CREATE TABLE tables (
  id INTEGER PRIMARY KEY,
  bucket_id INTEGER NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  primary_key TEXT NOT NULL DEFAULT '[]',
  head_version_id INTEGER,
  created_at INTEGER NOT NULL,
  UNIQUE (bucket_id, name)
);
CREATE TABLE segments (
  id INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL,
  path TEXT NOT NULL UNIQUE,
  row_count INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  replaces_keys INTEGER NOT NULL DEFAULT 0,
  columns TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE table_versions (
  id INTEGER PRIMARY KEY,
  table_id INTEGER NOT NULL REFERENCES tables(id) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  operation TEXT NOT NULL,
  columns TEXT NOT NULL,
  row_count INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  token_id INTEGER,
  created_at INTEGER NOT NULL,
  UNIQUE (table_id, number)
);
CREATE TABLE version_segments (
  version_id INTEGER NOT NULL REFERENCES table_versions(id) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  segment_id INTEGER NOT NULL REFERENCES segments(id),
  PRIMARY KEY (version_id, ordinal)
);
CREATE INDEX version_segments_segment ON version_segments(segment_id);
CREATE TABLE tokens (
  id INTEGER PRIMARY KEY,
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  project_id INTEGER REFERENCES projects(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('admin', 'master', 'scoped')),
  description TEXT NOT NULL DEFAULT '',
  secret_hash TEXT NOT NULL UNIQUE,
  scopes TEXT NOT NULL DEFAULT '[]',
  expires_at INTEGER,
  revoked_at INTEGER,
  created_at INTEGER NOT NULL
);
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  project_id INTEGER,
  token_id INTEGER,
  action TEXT NOT NULL,
  object TEXT NOT NULL,
  details TEXT NOT NULL DEFAULT '{}',
  client_address TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
CREATE INDEX events_project ON events(project_id, id);
)SQL"},
      // Ids are never reused: SQLite hands out max(id) + 1, so deleting the newest project made
      // the next one take its id, and with it the old project's audit events. Deletes record the
      // highest id they removed; inserts take ids above it (see NextIdSql in sqlite_catalog.h).
      {2, "never_reuse_ids", R"SQL(
CREATE TABLE retired_ids (
  entity TEXT PRIMARY KEY,
  last_id INTEGER NOT NULL
);
CREATE TRIGGER projects_retire_id AFTER DELETE ON projects BEGIN
  INSERT INTO retired_ids (entity, last_id) VALUES ('projects', OLD.id)
  ON CONFLICT (entity) DO UPDATE SET last_id = max(last_id, excluded.last_id);
END;
CREATE TRIGGER branches_retire_id AFTER DELETE ON branches BEGIN
  INSERT INTO retired_ids (entity, last_id) VALUES ('branches', OLD.id)
  ON CONFLICT (entity) DO UPDATE SET last_id = max(last_id, excluded.last_id);
END;
CREATE TRIGGER buckets_retire_id AFTER DELETE ON buckets BEGIN
  INSERT INTO retired_ids (entity, last_id) VALUES ('buckets', OLD.id)
  ON CONFLICT (entity) DO UPDATE SET last_id = max(last_id, excluded.last_id);
END;
CREATE TRIGGER tables_retire_id AFTER DELETE ON tables BEGIN
  INSERT INTO retired_ids (entity, last_id) VALUES ('tables', OLD.id)
  ON CONFLICT (entity) DO UPDATE SET last_id = max(last_id, excluded.last_id);
END;
CREATE TRIGGER tokens_retire_id AFTER DELETE ON tokens BEGIN
  INSERT INTO retired_ids (entity, last_id) VALUES ('tokens', OLD.id)
  ON CONFLICT (entity) DO UPDATE SET last_id = max(last_id, excluded.last_id);
END;
)SQL"},
      // Configurations (with versions and per-row state), project keys for secrets, jobs and
      // their events: the pipelines of issue 10.
      {3, "pipelines", R"SQL(
CREATE TABLE project_keys (
  project_id INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
  wrapped_key TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE configurations (
  id INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  branch_id INTEGER NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
  component_id TEXT NOT NULL,
  config_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (branch_id, config_id)
);
CREATE TABLE config_versions (
  configuration_id INTEGER NOT NULL REFERENCES configurations(id) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  body TEXT NOT NULL,
  rows TEXT NOT NULL DEFAULT '[]',
  message TEXT NOT NULL DEFAULT '',
  token_id INTEGER,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (configuration_id, number)
);
CREATE TABLE config_states (
  configuration_id INTEGER NOT NULL REFERENCES configurations(id) ON DELETE CASCADE,
  row_id TEXT NOT NULL,
  state TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (configuration_id, row_id)
);
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  branch_id INTEGER NOT NULL,
  configuration_id INTEGER NOT NULL,
  config_id TEXT NOT NULL,
  component_id TEXT NOT NULL,
  row_id TEXT NOT NULL DEFAULT '',
  config_version INTEGER NOT NULL,
  status TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  error_kind TEXT NOT NULL DEFAULT '',
  token_id INTEGER,
  attempt INTEGER NOT NULL DEFAULT 1,
  max_attempts INTEGER NOT NULL DEFAULT 1,
  timeout_ms INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  debug INTEGER NOT NULL DEFAULT 0,
  worker TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL DEFAULT 0,
  finished_at INTEGER NOT NULL DEFAULT 0,
  wall_ms INTEGER NOT NULL DEFAULT 0,
  cpu_ms INTEGER NOT NULL DEFAULT 0,
  peak_memory_bytes INTEGER NOT NULL DEFAULT 0,
  inputs TEXT NOT NULL DEFAULT '[]',
  outputs TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX jobs_status ON jobs(status, id);
CREATE INDEX jobs_project ON jobs(project_id, id);
CREATE TABLE job_events (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  level TEXT NOT NULL,
  source TEXT NOT NULL,
  message TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX job_events_job ON job_events(job_id, id);
CREATE TRIGGER configurations_retire_id AFTER DELETE ON configurations BEGIN
  INSERT INTO retired_ids (entity, last_id) VALUES ('configurations', OLD.id)
  ON CONFLICT (entity) DO UPDATE SET last_id = max(last_id, excluded.last_id);
END;
CREATE TRIGGER jobs_retire_id AFTER DELETE ON jobs BEGIN
  INSERT INTO retired_ids (entity, last_id) VALUES ('jobs', OLD.id)
  ON CONFLICT (entity) DO UPDATE SET last_id = max(last_id, excluded.last_id);
END;
)SQL"},
      // Files (Keboola's Storage files): what jobs write to out/files and read by tags.
      {4, "files", R"SQL(
CREATE TABLE files (
  id INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  tags TEXT NOT NULL DEFAULT '[]',
  path TEXT NOT NULL UNIQUE,
  size_bytes INTEGER NOT NULL,
  is_permanent INTEGER NOT NULL DEFAULT 0,
  job_id INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX files_project ON files(project_id, id);
CREATE TRIGGER files_retire_id AFTER DELETE ON files BEGIN
  INSERT INTO retired_ids (entity, last_id) VALUES ('files', OLD.id)
  ON CONFLICT (entity) DO UPDATE SET last_id = max(last_id, excluded.last_id);
END;
)SQL"},
      // Flows (issue 12): a flow's tasks are jobs of their own, children of the flow's job.
      {5, "flows", R"SQL(
ALTER TABLE jobs ADD COLUMN parent_job_id INTEGER REFERENCES jobs(id) ON DELETE CASCADE;
ALTER TABLE jobs ADD COLUMN flow_task_id TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN rerun_of INTEGER;
CREATE INDEX jobs_parent ON jobs(parent_job_id, id) WHERE parent_job_id IS NOT NULL;
)SQL"},
      // Variables of a job (issue 12): {name: value} replacing {{ name }} in its configuration.
      {6, "job variables", R"SQL(
ALTER TABLE jobs ADD COLUMN variables TEXT NOT NULL DEFAULT '{}';
)SQL"},
  };
  return kMigrations;
}

}  // namespace swan::catalog
