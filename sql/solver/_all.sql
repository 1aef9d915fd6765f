-- db4ai solver module: least squares as one parallel aggregate, with inference statistics
-- (installed after the model module: linregr_summary reads the warehouse).
\ir distributions.sql
\ir linalg.sql
\ir moments.sql
\ir linregr.sql
\ir summary.sql
