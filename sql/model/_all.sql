-- db4ai model module: the warehouse, prediction, explain and drop (installed after snapshots).
\ir warehouse.sql
\ir predict.sql
\ir evaluate.sql
\ir explain.sql
\ir drop.sql
