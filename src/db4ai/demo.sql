-- The db4ai demo: run by `db4ai demo` through the same path as `db4ai sql`.
-- Lines starting with "--> " are the story: `db4ai demo` prints each before the statements after it.
-- Everything before the first of them runs quietly: it removes what an earlier, interrupted demo left.
SET client_min_messages = warning;
DROP MODEL IF EXISTS demo_price;
SELECT count(db4ai.purge_snapshot(s."schema", s."name"))
  FROM (SELECT "schema", "name" FROM db4ai.snapshot
         WHERE "schema" = current_schema() AND "name" LIKE 'demo\_houses\_s%' ORDER BY id DESC) s;
DROP TABLE IF EXISTS demo_houses CASCADE;
RESET client_min_messages;
--> Sample data: 15 houses with tax, bathrooms, size and price (the table of openGauss's and MADlib's regression tests).
CREATE TABLE demo_houses (id int PRIMARY KEY, tax int, bedroom int, bath float8, price int, size int, lot int);
INSERT INTO demo_houses VALUES
    (1, 590, 2, 1, 50000, 770, 22100), (2, 1050, 3, 2, 85000, 1410, 12000),
    (3, 20, 3, 1, 22500, 1060, 3500), (4, 870, 2, 2, 90000, 1300, 17500),
    (5, 1320, 3, 2, 133000, 1500, 30000), (6, 1350, 2, 1, 90500, 820, 25700),
    (7, 2790, 3, 2.5, 260000, 2130, 25000), (8, 680, 2, 1, 142500, 1170, 22000),
    (9, 1840, 3, 2, 160000, 1500, 19000), (10, 3680, 4, 2, 240000, 2790, 20000),
    (11, 1660, 3, 1, 87000, 1030, 17500), (12, 1620, 3, 2, 118600, 1250, 20000),
    (13, 3100, 3, 2, 140000, 1760, 38000), (14, 2070, 2, 3, 148000, 1550, 14000),
    (15, 650, 3, 1.5, 65000, 1450, 12000);
--> Freeze the data as a versioned, read-only snapshot: the view "demo_houses_s@1.0.0" will never change.
CREATE SNAPSHOT demo_houses_s COMMENT IS 'houses as loaded' AS SELECT * FROM demo_houses;
--> House 8 looks like an outlier: derive version 1.1.0 without it (1.0.0 stays as it was).
CREATE SNAPSHOT demo_houses_s FROM @1.0.0 COMMENT IS 'drop the outlier' USING (DELETE WHERE id = 8);
--> The catalog records each version, its parent and how it was made.
SELECT name, parent_id IS NOT NULL AS derived, row_count, commands FROM db4ai.snapshot WHERE name LIKE 'demo_houses_s%' ORDER BY id;
--> Split 1.1.0 into training and test snapshots: exact, seeded sizes (scikit-learn's train_test_split rounding).
SPLIT SNAPSHOT demo_houses_s@1.1.0 AS _train AT RATIO .8, AS _test AT RATIO .2;
--> Train a linear regression on the training snapshot with openGauss's normalized gradient descent; the model lands in the warehouse.
CREATE MODEL demo_price USING linear_regression
    FEATURES tax, bath, size TARGET price FROM demo_houses_s_train@1.1.0
    WITH optimizer = 'ngd', learning_rate = 2.0, max_iterations = 100, seed = 7;
--> What was stored: openGauss's EXPLAIN MODEL layout, and the first passes of the training log.
SELECT gs_explain_model('demo_price');
SELECT pass, round(loss::numeric, 1) AS loss, learning_rate FROM db4ai.gs_model_training_log WHERE modelname = 'demo_price' ORDER BY pass LIMIT 5;
--> Predict the held-out houses inside PostgreSQL: PREDICT BY becomes plain SQL arithmetic with the stored weights.
SELECT id, price, PREDICT BY demo_price (FEATURES tax, bath, size) FROM demo_houses_s_test@1.1.0 ORDER BY id;
--> Plain SQL clients (psql, BI tools) call the function generated for the model instead.
SELECT id, db4ai.demo_price_pred(tax, bath, size) AS predicted FROM demo_houses WHERE id <= 3 ORDER BY id;
--> Clean up: the model first (a snapshot a model was trained on cannot be purged), then the snapshots, newest first.
DROP MODEL demo_price;
PURGE SNAPSHOT demo_houses_s_test@1.1.0;
PURGE SNAPSHOT demo_houses_s_train@1.1.0;
PURGE SNAPSHOT demo_houses_s@1.1.0;
PURGE SNAPSHOT demo_houses_s@1.0.0;
DROP TABLE demo_houses;
