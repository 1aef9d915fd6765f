-- Model artifacts: trained weights (a PyTorch state_dict, any mapping of arrays) stored as safetensors
-- bytes, a format made for untrusted weights (a JSON header and raw little-endian tensors, no code).
-- Written and read by db4ai.artifacts in Python; the SQL side only keeps and guards them.
--
-- The bytes are split into db4ai.artifact_chunk rows of chunk_size bytes (one bytea holds at most
-- 1 GB, and a single huge value would be built whole in server memory on every read), so a large
-- artifact streams in and out chunk by chunk. size and sha256 let the reader check what it got.
--
-- Who may do what: as for models. Everyone may read (load) every artifact; a role saves artifacts
-- it owns, linked only to its own runs and to snapshots it can read; only the owner (a member of the
-- owning role, a superuser) deletes one; nobody updates one (replacing = delete + save).

CREATE TABLE IF NOT EXISTS db4ai.artifact (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text        NOT NULL UNIQUE CHECK (name <> ''),
    owner        oid         NOT NULL DEFAULT db4ai_internal._current_role_oid(),
    created      timestamptz NOT NULL DEFAULT clock_timestamp(),
    run_id       bigint      REFERENCES db4ai.training_run (id) ON DELETE SET NULL,
    snapshot_ids bigint[],                -- snapshots the weights were trained on (lineage)
    format       text        NOT NULL DEFAULT 'safetensors' CHECK (format = 'safetensors'),
    framework    text        NOT NULL CHECK (framework IN ('torch', 'numpy')),  -- what load() returns by default
    tensors      jsonb       NOT NULL,    -- {"name": {"dtype": "F32", "shape": [..]}, ...}
    metadata     jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    size         bigint      NOT NULL CHECK (size >= 0),
    sha256       bytea       NOT NULL CHECK (octet_length(sha256) = 32),
    chunk_size   int4        NOT NULL CHECK (chunk_size > 0),
    chunks       int4        NOT NULL CHECK (chunks >= 0)
);
COMMENT ON TABLE db4ai.artifact IS 'db4ai model artifacts (safetensors), linked to their run and snapshots';
CREATE INDEX IF NOT EXISTS artifact_run_idx ON db4ai.artifact (run_id);

CREATE TABLE IF NOT EXISTS db4ai.artifact_chunk (
    artifact_id bigint NOT NULL REFERENCES db4ai.artifact (id) ON DELETE CASCADE,
    seq         int4   NOT NULL CHECK (seq >= 0),
    data        bytea  NOT NULL,
    PRIMARY KEY (artifact_id, seq)
);
COMMENT ON TABLE db4ai.artifact_chunk IS 'db4ai: the bytes of each artifact, in chunks of artifact.chunk_size';
-- Weights hardly compress: store chunks out of line without spending CPU on trying.
ALTER TABLE db4ai.artifact_chunk ALTER COLUMN data SET STORAGE EXTERNAL;

ALTER TABLE db4ai.artifact ENABLE ROW LEVEL SECURITY;
ALTER TABLE db4ai.artifact_chunk ENABLE ROW LEVEL SECURITY;

DO $db4ai$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'artifact'
                   AND policyname = 'artifacts_readable') THEN
        CREATE POLICY artifacts_readable ON db4ai.artifact FOR SELECT USING (true);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'artifact'
                   AND policyname = 'artifacts_saved_by_owner') THEN
        CREATE POLICY artifacts_saved_by_owner ON db4ai.artifact FOR INSERT WITH CHECK (false);
    END IF;
    -- The run subquery sees only runs visible to the role; it must also own it.
    ALTER POLICY artifacts_saved_by_owner ON db4ai.artifact
        WITH CHECK (db4ai_internal._is_model_owner(owner)
                    AND (run_id IS NULL OR EXISTS (SELECT 1 FROM db4ai.training_run r
                                                    WHERE r.id = run_id AND db4ai_internal._is_model_owner(r.owner)))
                    AND NOT EXISTS (SELECT 1 FROM unnest(snapshot_ids) AS sid WHERE NOT db4ai_internal._snapshot_readable(sid)));
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'artifact'
                   AND policyname = 'artifacts_deleted_by_owner') THEN
        CREATE POLICY artifacts_deleted_by_owner ON db4ai.artifact FOR DELETE USING (false);
    END IF;
    ALTER POLICY artifacts_deleted_by_owner ON db4ai.artifact USING (db4ai_internal._is_model_owner(owner));

    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'artifact_chunk'
                   AND policyname = 'artifact_chunks_readable') THEN
        CREATE POLICY artifact_chunks_readable ON db4ai.artifact_chunk FOR SELECT USING (true);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'artifact_chunk'
                   AND policyname = 'artifact_chunks_written_by_owner') THEN
        CREATE POLICY artifact_chunks_written_by_owner ON db4ai.artifact_chunk FOR INSERT WITH CHECK (false);
    END IF;
    ALTER POLICY artifact_chunks_written_by_owner ON db4ai.artifact_chunk
        WITH CHECK (EXISTS (SELECT 1 FROM db4ai.artifact a WHERE a.id = artifact_id AND db4ai_internal._is_model_owner(a.owner)));
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'db4ai' AND tablename = 'artifact_chunk'
                   AND policyname = 'artifact_chunks_deleted_by_owner') THEN
        CREATE POLICY artifact_chunks_deleted_by_owner ON db4ai.artifact_chunk FOR DELETE USING (false);
    END IF;
    ALTER POLICY artifact_chunks_deleted_by_owner ON db4ai.artifact_chunk
        USING (EXISTS (SELECT 1 FROM db4ai.artifact a WHERE a.id = artifact_id AND db4ai_internal._is_model_owner(a.owner)));
END
$db4ai$;

REVOKE ALL ON db4ai.artifact, db4ai.artifact_chunk FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON db4ai.artifact, db4ai.artifact_chunk TO PUBLIC;
