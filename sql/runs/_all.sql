-- db4ai training runs and artifacts: training loops outside the database (CREATE MODEL's own, PyTorch
-- and any other framework's), recorded inside it. MLflow's tracking vocabulary: a run has params,
-- metrics per step, artifacts and a state. Installed after the model module (it reuses the model
-- ownership helper). Every file is idempotent (CREATE OR REPLACE / IF NOT EXISTS).
\ir registry.sql
\ir api.sql
\ir views.sql
\ir artifacts.sql
