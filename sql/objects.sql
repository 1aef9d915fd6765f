-- Every db4ai object, in dependency order: the one source of both ways to install db4ai.
--   * sql/install.sql (psql -f, any role that may create a schema) creates schema db4ai and runs
--     this file in one transaction;
--   * CREATE EXTENSION db4ai runs this file too: db4ai.extension generates the extension scripts
--     from it (plus sql/extension/members.sql), and the control file makes schema db4ai.
-- Every file is idempotent (CREATE OR REPLACE, IF NOT EXISTS, checks of the catalogs), so the same
-- text also upgrades an installed database: install.sql run again, or ALTER EXTENSION db4ai UPDATE.
-- On a Citus coordinator, objects are created on the coordinator only; citus.sql then hands the
-- workers what they need. (Elsewhere this only sets an unused placeholder setting.)
SET LOCAL citus.create_object_propagation = deferred;
\ir core.sql
\ir upgrade.sql
\ir snapshot/_all.sql
\ir model/_all.sql
\ir solver/_all.sql
\ir runs/_all.sql
\ir comments.sql
\ir citus.sql
