-- The catalog's documentation, as psql shows it (\d+ db4ai.snapshot, \df+ db4ai.*): a COMMENT on every
-- public table, column and function of schema db4ai (names starting with "_" are internal).
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
