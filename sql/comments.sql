-- The catalog's documentation, as psql shows it (\d+ db4ai.snapshot, \df+ db4ai.*): a COMMENT on every
-- public table, column and function of schema db4ai (its helpers live in schema db4ai_internal, sql/core.sql).
-- tests/core/test_catalog_comments.py fails on any public object without one. Comments of functions
-- sit next to their definitions; the columns' are gathered here, one table after another.

COMMENT ON SEQUENCE db4ai.snapshot_sequence IS 'ids of db4ai.snapshot (also the upper 32 bits of the CSS row ids of each snapshot)';

COMMENT ON COLUMN db4ai.snapshot.id IS 'snapshot id, from db4ai.snapshot_sequence';
COMMENT ON COLUMN db4ai.snapshot.parent_id IS 'id of the snapshot this one was derived from (CREATE SNAPSHOT ... FROM, SAMPLE, SPLIT); NULL for a root';
COMMENT ON COLUMN db4ai.snapshot.matrix_id IS 'CSS: id of the snapshot whose backing table holds the shared rows';
COMMENT ON COLUMN db4ai.snapshot.root_id IS 'id of the first snapshot of the lineage';
COMMENT ON COLUMN db4ai.snapshot."schema" IS 'schema of the snapshot''s view';
COMMENT ON COLUMN db4ai.snapshot."name" IS 'name of the snapshot''s view: <name>@<version>';
COMMENT ON COLUMN db4ai.snapshot.owner IS 'role that created the snapshot; it owns the view and the backing table';
COMMENT ON COLUMN db4ai.snapshot.commands IS 'how it was made: the query of a root, the operations applied to the parent of a derived snapshot';
COMMENT ON COLUMN db4ai.snapshot.comment IS 'the COMMENT IS text given when it was made';
COMMENT ON COLUMN db4ai.snapshot.published IS 'PUBLISH SNAPSHOT: released for use (openGauss sets it for roots too)';
COMMENT ON COLUMN db4ai.snapshot.archived IS 'ARCHIVE SNAPSHOT: kept, but no longer for use';
COMMENT ON COLUMN db4ai.snapshot.created IS 'when it was made';
COMMENT ON COLUMN db4ai.snapshot.row_count IS 'number of rows';

COMMENT ON COLUMN db4ai.snapshot_storage.id IS 'the snapshot (db4ai.snapshot.id)';
COMMENT ON COLUMN db4ai.snapshot_storage.owner IS 'role that created the snapshot';
COMMENT ON COLUMN db4ai.snapshot_storage.store IS 'backing table holding the rows, in the snapshot''s schema';
COMMENT ON COLUMN db4ai.snapshot_storage.columns IS 'the snapshot''s column names, in order';
COMMENT ON COLUMN db4ai.snapshot_storage.fields IS 'the backing-table column holding each of them';
COMMENT ON COLUMN db4ai.snapshot_storage.members IS 'CSS: row ids (_db4ai_rid) of its rows; NULL for an MSS table without row ids';
COMMENT ON COLUMN db4ai.snapshot_storage.filtered IS 'does the view filter the backing table by members (false: it shows the whole table)';

COMMENT ON COLUMN db4ai.gs_model_warehouse.modelname IS 'model name (unique)';
COMMENT ON COLUMN db4ai.gs_model_warehouse.modelowner IS 'oid of the role that trained it';
COMMENT ON COLUMN db4ai.gs_model_warehouse.createtime IS 'when it was stored';
COMMENT ON COLUMN db4ai.gs_model_warehouse.processedtuples IS 'rows trained on';
COMMENT ON COLUMN db4ai.gs_model_warehouse.discardedtuples IS 'rows left out (a NULL feature or target)';
COMMENT ON COLUMN db4ai.gs_model_warehouse.preprocesstime IS 'seconds spent reading the rows';
COMMENT ON COLUMN db4ai.gs_model_warehouse.exectime IS 'seconds spent in the training loop';
COMMENT ON COLUMN db4ai.gs_model_warehouse.iterations IS 'training passes run';
COMMENT ON COLUMN db4ai.gs_model_warehouse.outputtype IS 'type oid of the TARGET, and of the predictions';
COMMENT ON COLUMN db4ai.gs_model_warehouse.modeltype IS 'algorithm (USING ...)';
COMMENT ON COLUMN db4ai.gs_model_warehouse.query IS 'the CREATE MODEL statement';
COMMENT ON COLUMN db4ai.gs_model_warehouse.modeldata IS 'the model: db4ai''s versioned binary format (magic, JSON header, float8 weights; no pickle)';
COMMENT ON COLUMN db4ai.gs_model_warehouse.weight IS 'deprecated in openGauss: always NULL';
COMMENT ON COLUMN db4ai.gs_model_warehouse.hyperparametersnames IS 'hyperparameter names, in openGauss''s order';
COMMENT ON COLUMN db4ai.gs_model_warehouse.hyperparametersvalues IS 'hyperparameter values used (defaults included), as text';
COMMENT ON COLUMN db4ai.gs_model_warehouse.hyperparametersoids IS 'type oid of each hyperparameter';
COMMENT ON COLUMN db4ai.gs_model_warehouse.coefnames IS 'deprecated in openGauss: always NULL';
COMMENT ON COLUMN db4ai.gs_model_warehouse.coefvalues IS 'deprecated in openGauss: always NULL';
COMMENT ON COLUMN db4ai.gs_model_warehouse.coefoids IS 'deprecated in openGauss: always NULL';
COMMENT ON COLUMN db4ai.gs_model_warehouse.trainingscoresname IS 'names of the training scores (mse, ...)';
COMMENT ON COLUMN db4ai.gs_model_warehouse.trainingscoresvalue IS 'training scores of the stored weights over all processed rows';
COMMENT ON COLUMN db4ai.gs_model_warehouse.modeldescribe IS 'deprecated in openGauss: always NULL';
COMMENT ON COLUMN db4ai.gs_model_warehouse.feature_names IS 'db4ai: the FEATURES labels (alias, else the expression text)';
COMMENT ON COLUMN db4ai.gs_model_warehouse.feature_oids IS 'db4ai: type oid of each FEATURES column';
COMMENT ON COLUMN db4ai.gs_model_warehouse.coefficients IS 'db4ai: the weights, bias last (the numbers in modeldata)';
COMMENT ON COLUMN db4ai.gs_model_warehouse.snapshot_ids IS 'db4ai: ids of the snapshots trained on (PURGE refuses them while the model exists)';
COMMENT ON COLUMN db4ai.gs_model_warehouse.predict_function IS 'db4ai: name of the generated function db4ai.<name>(features...) predicting with this model';

COMMENT ON COLUMN db4ai.gs_model_training_log.modelname IS 'the model (gs_model_warehouse.modelname)';
COMMENT ON COLUMN db4ai.gs_model_training_log.pass IS 'training pass, from 0';
COMMENT ON COLUMN db4ai.gs_model_training_log.loss IS 'total loss of the weights frozen at the start of the pass (NULL in pass 0)';
COMMENT ON COLUMN db4ai.gs_model_training_log.delta_loss IS '|previous loss - loss| (NULL in passes 0 and 1)';
COMMENT ON COLUMN db4ai.gs_model_training_log.learning_rate IS 'learning rate used in the pass';
COMMENT ON COLUMN db4ai.gs_model_training_log.elapsed IS 'seconds since training started, at the end of the pass';

COMMENT ON COLUMN db4ai.gs_model_warehouse.prediction IS 'the prediction as an expression tree (jsonb; node kinds in src/db4ai/expr.py), printed to SQL by db4ai_internal._expr_sql for PREDICT BY, predict_model_sql and predict_function';
COMMENT ON COLUMN db4ai.gs_model_warehouse.details IS 'the algorithm''s own gs_explain_model lines ("label: value"), after the scores';

COMMENT ON SEQUENCE db4ai.training_run_id_seq IS 'ids of db4ai.training_run';
COMMENT ON COLUMN db4ai.training_run.id IS 'run id';
COMMENT ON COLUMN db4ai.training_run.name IS 'run name (a CREATE MODEL run is named after its model)';
COMMENT ON COLUMN db4ai.training_run.kind IS 'create_model (recorded by CREATE MODEL) or external (db4ai.runs.start, db4ai.start_run)';
COMMENT ON COLUMN db4ai.training_run.owner IS 'role that started the run';
COMMENT ON COLUMN db4ai.training_run.state IS 'running, succeeded, failed or interrupted (db4ai.training_runs also shows a dead session''s running run as interrupted)';
COMMENT ON COLUMN db4ai.training_run.started IS 'when the run started';
COMMENT ON COLUMN db4ai.training_run.finished IS 'when the run ended (NULL while running)';
COMMENT ON COLUMN db4ai.training_run.error IS 'the failure''s text (failed, interrupted)';
COMMENT ON COLUMN db4ai.training_run.params IS 'hyperparameters and other settings, as a JSON object';
COMMENT ON COLUMN db4ai.training_run.source IS 'what the run read: a snapshot (name@version), a table, a query or a URI';
COMMENT ON COLUMN db4ai.training_run.snapshot_ids IS 'db4ai.snapshot ids of the snapshots it read (lineage)';
COMMENT ON COLUMN db4ai.training_run.rows_read IS 'rows the run read';
COMMENT ON COLUMN db4ai.training_run.model IS 'the model it stored (gs_model_warehouse.modelname)';
COMMENT ON COLUMN db4ai.training_run.backend_pid IS 'the run''s own session (with backend_start: tells whether it is still alive)';
COMMENT ON COLUMN db4ai.training_run.backend_start IS 'when the run''s own session started';

COMMENT ON COLUMN db4ai.training_run_metric.run_id IS 'the run (db4ai.training_run.id)';
COMMENT ON COLUMN db4ai.training_run_metric.step IS 'epoch, pass or global step, as the training loop counts';
COMMENT ON COLUMN db4ai.training_run_metric.name IS 'metric name, e.g. loss';
COMMENT ON COLUMN db4ai.training_run_metric.value IS 'the value (NaN and Infinity kept as logged)';
COMMENT ON COLUMN db4ai.training_run_metric.logged IS 'when it was logged';

COMMENT ON COLUMN db4ai.training_runs.id IS 'run id';
COMMENT ON COLUMN db4ai.training_runs.name IS 'run name';
COMMENT ON COLUMN db4ai.training_runs.kind IS 'create_model or external';
COMMENT ON COLUMN db4ai.training_runs.owner IS 'role that started the run';
COMMENT ON COLUMN db4ai.training_runs.state IS 'running, succeeded, failed or interrupted (a running run whose session is gone)';
COMMENT ON COLUMN db4ai.training_runs.started IS 'when the run started';
COMMENT ON COLUMN db4ai.training_runs.finished IS 'when the run ended';
COMMENT ON COLUMN db4ai.training_runs.error IS 'the failure''s text';
COMMENT ON COLUMN db4ai.training_runs.params IS 'hyperparameters and other settings (JSON)';
COMMENT ON COLUMN db4ai.training_runs.source IS 'what the run read';
COMMENT ON COLUMN db4ai.training_runs.snapshot_ids IS 'snapshots it read (lineage)';
COMMENT ON COLUMN db4ai.training_runs.rows_read IS 'rows the run read';
COMMENT ON COLUMN db4ai.training_runs.model IS 'the model it stored';
COMMENT ON COLUMN db4ai.training_runs.backend_pid IS 'the run''s own session';

COMMENT ON COLUMN db4ai.training_run_progress.id IS 'run id';
COMMENT ON COLUMN db4ai.training_run_progress.name IS 'run name';
COMMENT ON COLUMN db4ai.training_run_progress.state IS 'running, succeeded, failed or interrupted';
COMMENT ON COLUMN db4ai.training_run_progress.owner IS 'role that started the run';
COMMENT ON COLUMN db4ai.training_run_progress.last_step IS 'the last step logged';
COMMENT ON COLUMN db4ai.training_run_progress.steps IS 'number of steps logged';
COMMENT ON COLUMN db4ai.training_run_progress.metrics IS 'latest value of each metric, e.g. "accuracy=0.9, loss=0.25"';
COMMENT ON COLUMN db4ai.training_run_progress.rows_read IS 'rows the run read';
COMMENT ON COLUMN db4ai.training_run_progress.elapsed_s IS 'seconds since the start (to the end once ended)';
COMMENT ON COLUMN db4ai.training_run_progress.since_last_log_s IS 'seconds since the last metric was logged';
COMMENT ON COLUMN db4ai.training_run_progress.started IS 'when the run started';
COMMENT ON COLUMN db4ai.training_run_progress.model IS 'the model it stored';
COMMENT ON COLUMN db4ai.training_run_progress.error IS 'the failure''s text';

COMMENT ON SEQUENCE db4ai.artifact_id_seq IS 'ids of db4ai.artifact';
COMMENT ON COLUMN db4ai.artifact.id IS 'artifact id';
COMMENT ON COLUMN db4ai.artifact.name IS 'artifact name (unique)';
COMMENT ON COLUMN db4ai.artifact.owner IS 'role that saved it';
COMMENT ON COLUMN db4ai.artifact.created IS 'when it was saved';
COMMENT ON COLUMN db4ai.artifact.run_id IS 'the training run that produced it (db4ai.training_run.id)';
COMMENT ON COLUMN db4ai.artifact.snapshot_ids IS 'snapshots the weights were trained on (lineage)';
COMMENT ON COLUMN db4ai.artifact.format IS 'storage format: safetensors';
COMMENT ON COLUMN db4ai.artifact.framework IS 'what db4ai.artifacts.load returns by default: torch tensors or numpy arrays';
COMMENT ON COLUMN db4ai.artifact.tensors IS 'each tensor''s dtype and shape: {"name": {"dtype": "F32", "shape": [...]}}';
COMMENT ON COLUMN db4ai.artifact.metadata IS 'user metadata (JSON object)';
COMMENT ON COLUMN db4ai.artifact.size IS 'bytes of the safetensors file';
COMMENT ON COLUMN db4ai.artifact.sha256 IS 'SHA-256 of the safetensors file, checked on load';
COMMENT ON COLUMN db4ai.artifact.chunk_size IS 'bytes per row of db4ai.artifact_chunk (the last may be shorter)';
COMMENT ON COLUMN db4ai.artifact.chunks IS 'number of chunks';
COMMENT ON COLUMN db4ai.artifact_chunk.artifact_id IS 'the artifact (db4ai.artifact.id)';
COMMENT ON COLUMN db4ai.artifact_chunk.seq IS 'position of the chunk, from 0';
COMMENT ON COLUMN db4ai.artifact_chunk.data IS 'the chunk''s bytes';
