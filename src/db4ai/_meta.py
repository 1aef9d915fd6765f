"""Backslash commands of ``db4ai sql``: psql's own from the ``pgspecial`` package (``\\d``,
``\\dt``, ``\\df``, ``\\l``, ``\\x``, ``\\timing``, ``\\?``, ...) plus db4ai's catalog listings,
which take the place of psql's ``\\dm`` (materialized views) and ``\\ds`` (sequences):

* ``\\dm[+] [pattern]`` models in the warehouse;
* ``\\ds[+] [pattern]`` snapshots, by lineage, with their parents and state;
* ``\\dr[+] [pattern]`` training runs, where the training-run registry is installed.

``\\i``, ``\\o`` and ``\\q`` change the session itself and live in :mod:`db4ai._shell`.
"""

from __future__ import annotations

import re
from typing import Any

from pgspecial.main import NO_QUERY, PARSED_QUERY, PGSpecial

# pgspecial's entries that only document commands pgcli implements itself, or that need pgcli's
# configuration (named queries, pager, editor): not commands here.
_PGCLI_ONLY = ("\\n", "\\nd", "\\np", "\\ns", "\\pager", "\\e", "\\ef", "\\ev", "\\watch", "\\do")

Result = tuple[str | None, Any, list[str] | None, str | None]  # pgspecial's (title, rows, headers, status)


def _filter(pattern: str, column: str) -> tuple[str, list[str]]:
    """A WHERE clause (and its parameter) for a name pattern on ``column``: psql's wildcards
    ``*`` and ``?``, the rest literal. Unlike psql's, a dot does not start a schema name:
    snapshot versions are full of them (``\\ds houses@1.*``)."""
    if not pattern:
        return "true", []
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.strip('"'))
    return f"{column} OPERATOR(pg_catalog.~) %s", [f"^({regex})$"]


def _installed(cur: Any, relation: str) -> bool:
    cur.execute("SELECT pg_catalog.to_regclass(%s) IS NOT NULL", [relation])
    return bool(cur.fetchone()[0])


def list_models(cur: Any, pattern: str, verbose: bool) -> list[Result]:
    if not _installed(cur, "db4ai.gs_model_warehouse"):
        return [(None, None, None, "db4ai is not installed in this database.")]
    where, params = _filter(pattern, "m.modelname")
    more = """,
        m.processedtuples AS "Rows", m.discardedtuples AS "Discarded", m.iterations AS "Iterations",
        (SELECT pg_catalog.string_agg(n || '=' || v, ', ')
         FROM unnest(m.hyperparametersnames, m.hyperparametersvalues) AS h(n, v))
            AS "Hyperparameters",
        m.predict_function AS "Function" """ if verbose else ""
    cur.execute(f"""
        SELECT m.modelname AS "Name", pg_catalog.pg_get_userbyid(m.modelowner) AS "Owner", m.modeltype AS "Algorithm",
               pg_catalog.array_to_string(m.feature_names, ', ') AS "Features",
               pg_catalog.format_type(m.outputtype, NULL) AS "Target type",
               (SELECT pg_catalog.string_agg(n || ' = ' || v, ', ')
                  FROM unnest(m.trainingscoresname, m.trainingscoresvalue) AS s(n, v)) AS "Scores",
               (SELECT pg_catalog.string_agg(pg_catalog.format('%%I.%%I', s."schema", s."name"), ', ' ORDER BY s.id)
                  FROM db4ai.snapshot s WHERE s.id = ANY (m.snapshot_ids)) AS "Trained on",
               m.createtime::timestamp(0) AS "Created"{more}
          FROM db4ai.gs_model_warehouse m
         WHERE {where}
         ORDER BY 1""", params)
    return [("List of models", cur, [c.name for c in cur.description], cur.statusmessage)]


def list_snapshots(cur: Any, pattern: str, verbose: bool) -> list[Result]:
    if not _installed(cur, "db4ai.snapshot"):
        return [(None, None, None, "db4ai is not installed in this database.")]
    where, params = _filter(pattern, "s.name")
    more = """,
        CASE WHEN st.members IS NULL THEN 'MSS' ELSE 'CSS' END AS "Storage", st.store::text AS "Table",
        pg_catalog.btrim(pg_catalog.array_to_string(s.commands, ' ')) AS "Commands" """ if verbose else ""
    cur.execute(f"""
        SELECT s."schema" AS "Schema", s."name" AS "Name", p."name" AS "Parent", s.row_count AS "Rows",
               concat_ws(', ', CASE WHEN s.published THEN 'published' END, CASE WHEN s.archived THEN 'archived' END) AS "State",
               s.owner AS "Owner", s.created::timestamp(0) AS "Created", s.comment AS "Comment"{more}
          FROM db4ai.snapshot s
          LEFT JOIN db4ai.snapshot p ON p.id = s.parent_id
          LEFT JOIN db4ai.snapshot_storage st ON st.id = s.id
         WHERE {where}
         ORDER BY s."schema", coalesce(s.root_id, s.id), s.id""", params)  # a lineage together, oldest first
    return [("List of snapshots", cur, [c.name for c in cur.description], cur.statusmessage)]


def list_training_runs(cur: Any, pattern: str, verbose: bool) -> list[Result]:
    if not _installed(cur, "db4ai.training_runs"):
        return [(None, None, None, "no training-run registry installed")]
    where, params = _filter(pattern, "r.name")
    more = """,
        r.source AS "Source", r.params::text AS "Params", r.error AS "Error" """ if verbose else ""
    cur.execute(f"""
        SELECT r.id AS "Id", r.name AS "Name", r.kind AS "Kind", r.owner AS "Owner", r.state AS "State",
               r.started::timestamp(0) AS "Started", p.elapsed_s AS "Seconds", r.rows_read AS "Rows",
               p.metrics AS "Last metrics", r.model AS "Model"{more}
          FROM db4ai.training_runs r
          LEFT JOIN db4ai.training_run_progress p ON p.id = r.id
         WHERE {where}
         ORDER BY r.id""", params)
    return [("List of training runs", cur, [c.name for c in cur.description], cur.statusmessage)]


def make_special() -> PGSpecial:
    """pgspecial's command table for db4ai sql: psql's commands and db4ai's listings."""
    special = PGSpecial()
    for command in _PGCLI_ONLY:
        special.commands.pop(command, None)
    special.register(list_models, "\\dm", "\\dm[+] [pattern]", "List db4ai models.", arg_type=PARSED_QUERY)
    special.register(list_snapshots, "\\ds", "\\ds[+] [pattern]", "List db4ai snapshots with parents (lineage).",
                     arg_type=PARSED_QUERY)
    special.register(list_training_runs, "\\dr", "\\dr[+] [pattern]", "List db4ai training runs.", arg_type=PARSED_QUERY)
    # run by db4ai._shell.Shell itself; registered for \? and completion
    for command, syntax, description in (("\\i", "\\i FILE", "Execute commands from file."),
                                         ("\\o", "\\o [FILE]", "Send query results to file (no FILE: to the screen)."),
                                         ("\\q", "\\q", "Quit.")):
        special.register(_session_command, command, syntax, description, arg_type=NO_QUERY)
    return special


def _session_command() -> list[Result]:  # pragma: no cover - the shell handles these before pgspecial
    raise NotImplementedError
