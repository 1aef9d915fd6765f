-- Views for reading and watching runs (security_invoker: each role sees what the policies let it).
-- CREATE OR REPLACE VIEW can only add columns at the end: a later change that reorders or drops
-- columns must DROP the view first.

-- Every run with its effective state: a run still marked running whose session is gone (the client
-- was killed, the connection lost) shows as interrupted, without anybody having to update it.
CREATE OR REPLACE VIEW db4ai.training_runs WITH (security_invoker = true) AS
SELECT r.id, r.name, r.kind, pg_catalog.pg_get_userbyid(r.owner) AS owner,
       CASE WHEN r.state = 'running' AND NOT db4ai_internal._run_backend_alive(r.backend_pid, r.backend_start)
            THEN 'interrupted' ELSE r.state END AS state,
       r.started, r.finished, r.error, r.params, r.source, r.snapshot_ids, r.rows_read, r.model,
       r.backend_pid
  FROM db4ai.training_run r;
COMMENT ON VIEW db4ai.training_runs IS 'db4ai: training runs, a dead session''s running run shown as interrupted';

-- One line per run for watching it live (psql \watch, db4ai sql): the last step logged, the latest
-- value of each metric as text ("loss=0.25, accuracy=0.9"), seconds since start and since the last log.
CREATE OR REPLACE VIEW db4ai.training_run_progress WITH (security_invoker = true) AS
SELECT r.id, r.name, r.state, r.owner, m.last_step, m.steps, m.metrics, r.rows_read,
       round(extract(epoch FROM coalesce(r.finished, clock_timestamp()) - r.started)::numeric, 1) AS elapsed_s,
       round(extract(epoch FROM clock_timestamp() - m.last_logged)::numeric, 1) AS since_last_log_s,
       r.started, r.model, r.error
  FROM db4ai.training_runs r
  LEFT JOIN LATERAL (
      SELECT max(l.step) AS last_step, max(l.logged) AS last_logged,
             (SELECT count(DISTINCT s.step) FROM db4ai.training_run_metric s WHERE s.run_id = r.id) AS steps,
             string_agg(l.name || '=' || l.value::text, ', ' ORDER BY l.name) AS metrics
        FROM (SELECT DISTINCT ON (x.name) x.name, x.step, x.value, x.logged
                FROM db4ai.training_run_metric x
               WHERE x.run_id = r.id
               ORDER BY x.name, x.step DESC) AS l
  ) AS m ON true;
COMMENT ON VIEW db4ai.training_run_progress IS
    'db4ai: one line per training run for watching it live (SELECT * FROM db4ai.training_run_progress)';

GRANT SELECT ON db4ai.training_runs, db4ai.training_run_progress TO PUBLIC;
