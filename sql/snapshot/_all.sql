-- db4ai snapshots: versioned, immutable training-data sets (openGauss DB4AI snapshot API).
-- Included from sql/install.sql; every file is idempotent (CREATE OR REPLACE / IF NOT EXISTS).
-- Order matters: later files call functions of earlier ones. README.md in this folder explains
-- the storage layout (MSS / CSS), the security model and where we differ from openGauss.
\ir catalog.sql
\ir settings.sql
\ir tokens.sql
\ir commands.sql
\ir storage.sql
\ir distributed.sql
\ir immutable.sql
\ir create.sql
\ir prepare.sql
\ir manage.sql
\ir sample.sql
\ir split.sql
\ir purge.sql
