-- What a db4ai 0.1.0 user had, for the upgrade tests (tests/core/test_extension.py): a table, snapshots
-- (MSS and CSS, roots and derived versions) made with the 0.1.0 SQL API, and a model as the 0.1.0
-- client stored it (the INSERTs below are pg_dump --column-inserts of a real 0.1.0 training on
-- houses@1.1.0). Frozen, like sql/releases/0.1.0.sql: never edit.
CREATE TABLE houses (id int PRIMARY KEY, tax int, bedroom int, bath float8, price int, size int, lot int);
INSERT INTO houses VALUES
    (1, 590, 2, 1, 50000, 770, 22100), (2, 1050, 3, 2, 85000, 1410, 12000),
    (3, 20, 3, 1, 22500, 1060, 3500), (4, 870, 2, 2, 90000, 1300, 17500),
    (5, 1320, 3, 2, 133000, 1500, 30000), (6, 1350, 2, 1, 90500, 820, 25700),
    (7, 2790, 3, 2.5, 260000, 2130, 25000), (8, 680, 2, 1, 142500, 1170, 22000),
    (9, 1840, 3, 2, 160000, 1500, 19000), (10, 3680, 4, 2, 240000, 2790, 20000),
    (11, 1660, 3, 1, 87000, 1030, 17500), (12, 1620, 3, 2, 118600, 1250, 20000),
    (13, 3100, 3, 2, 140000, 1760, 38000), (14, 2070, 2, 3, 148000, 1550, 14000),
    (15, 650, 3, 1.5, 65000, 1450, 12000);
SELECT * FROM db4ai.create_snapshot('public', 'houses', '{"SELECT * FROM houses"}', NULL, 'as loaded');
SELECT * FROM db4ai.prepare_snapshot('public', 'houses@1.0.0', '{DELETE, "WHERE id = 8"}', NULL, 'no outlier');
SELECT * FROM db4ai.split_snapshot('public', 'houses@1.1.0', '{_train,_test}', '{.8,.2}');
SET db4ai.snapshot_mode = 'CSS';
SELECT * FROM db4ai.create_snapshot('public', 'shared', '{"SELECT id, tax, price FROM houses"}');
SELECT * FROM db4ai.prepare_snapshot('public', 'shared@1.0.0', '{UPDATE, "SET tax = 0", "WHERE id < 4"}');
SELECT * FROM db4ai.prepare_snapshot('public', 'shared@1.0.1', '{DELETE, "WHERE id > 12"}');
RESET db4ai.snapshot_mode;
-- The model price (openGauss layout + db4ai 0.1.0 columns), trained on houses_train@1.1.0 (snapshot id 3).
INSERT INTO db4ai.gs_model_warehouse (modelname, modelowner, createtime, processedtuples, discardedtuples, preprocesstime, exectime, iterations, outputtype, modeltype, query, modeldata, weight, hyperparametersnames, hyperparametersvalues, hyperparametersoids, coefnames, coefvalues, coefoids, trainingscoresname, trainingscoresvalue, modeldescribe, feature_names, feature_oids, coefficients, snapshot_ids, predict_function) VALUES ('price', (SELECT oid FROM pg_roles WHERE rolname = current_user), '2026-12-04 16:36:30.221285', 11, 0, 0.014085812, 0.000569795, 20, 23, 'linear_regression', 'CREATE MODEL price USING linear_regression FEATURES tax, bath, size TARGET price FROM houses_train@1.1.0 WITH optimizer = ''ngd'', learning_rate = 2.0, max_iterations = 20, seed = 7', '\x44423441494d444c016e0100007b22616c676f726974686d223a20226c696e6561725f72656772657373696f6e222c2022666561747572655f6e616d6573223a205b22746178222c202262617468222c202273697a65225d2c2022666561747572655f6f696473223a205b32332c203730312c2032335d2c2022666f726d6174223a20312c20226879706572706172616d6574657273223a207b2262617463685f73697a65223a20313030302c20226465636179223a20302e39352c20226c6561726e696e675f72617465223a20322e302c20226d61785f697465726174696f6e73223a2032302c20226d61785f7365636f6e6473223a20302c20226f7074696d697a6572223a20226e6764222c202273656564223a20372c2022746f6c6572616e6365223a20302e303030352c2022766572626f7365223a2066616c73657d2c20226e5f77656967687473223a20342c20226f75747075745f6f6964223a2032332c2022776569676874735f6474797065223a20223c6638227da24cf9f435123d40b24dc93855edd1408b821c0a041f3940c9766133fa68c040', NULL, '{batch_size,decay,learning_rate,max_iterations,max_seconds,optimizer,tolerance,seed,verbose}', '{1000,0.95,2,20,0,ngd,0.0005,7,false}', '{23,701,701,23,23,1043,701,23,16}', NULL, NULL, NULL, '{mse}', '{7.8520723e+08}', NULL, '{tax,bath,size}', '{23,701,23}', '{29.071135817398165,18357.331590963244,25.121155387840684,8401.9546930151}', '{3}', 'price_pred');
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 0, NULL, NULL, 2, 0.014211659000011423);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 1, 3710766848, NULL, 1.9, 0.014272879999907673);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 2, 1680961920, 2029804928, 1.805, 0.014298428000074637);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 3, 1089779072, 591182848, 1.7147499999999998, 0.014321912000013981);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 4, 914229504, 175549568, 1.6290124999999998, 0.014342783000074633);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 5, 828907008, 85322496, 1.5475618749999998, 0.014361361000055695);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 6, 764534272, 64372736, 1.4701837812499996, 0.01437950800004728);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 7, 710180992, 54353280, 1.3966745921874995, 0.014398296000081245);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 8, 663511616, 46669376, 1.3268408625781245, 0.01442315300005248);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 9, 623206720, 40304896, 1.2604988194492182, 0.014441739999938363);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 10, 588226944, 34979776, 1.1974738784767571, 0.014458265000030224);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 11, 557727488, 30499456, 1.1376001845529191, 0.014474469000106183);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 12, 531017312, 26710176, 1.080720175325273, 0.014490402000092217);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 13, 507527904, 23489408, 1.0266841665590094, 0.014506045999951311);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 14, 486789152, 20738752, 0.9753499582310589, 0.01452128799996899);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 15, 468410208, 18378944, 0.9265824603195059, 0.014536741000028996);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 16, 452064672, 16345536, 0.8802533373035305, 0.014554827999972986);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 17, 437478528, 14586144, 0.8362406704383539, 0.014572344000043813);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 18, 424420800, 13057728, 0.7944286369164362, 0.014588928999955897);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 19, 412695872, 11724928, 0.7547072050706143, 0.014606003999915629);
INSERT INTO db4ai.gs_model_training_log (modelname, pass, loss, delta_loss, learning_rate, elapsed) VALUES ('price', 20, 402137472, 10558400, 0.7169718448170835, 0.014623209000092174);
