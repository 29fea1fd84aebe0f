"""Read every table of the models' metadata from ONE consistent snapshot of the database."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, Engine

from models.backup.archive import TableDump
from models.backup.errors import BackupError
from models.backup.rowcodec import type_tag


@dataclass(frozen=True)
class Snapshot:
    schema_revision: str
    source_database: str
    tables: list[TableDump]


@contextmanager
def snapshot_connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see the same committed state, and which writes nothing."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            # pysqlite starts no transaction for SELECTs on its own; an explicit BEGIN holds one read
            # snapshot (and, without WAL, the shared lock) from the first read to the end.
            conn = connection.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                conn.exec_driver_sql("ROLLBACK")
            return
        options: dict[str, object] = {"isolation_level": "REPEATABLE READ"}
        if engine.dialect.name == "postgresql":
            # REPEATABLE READ on PostgreSQL is one snapshot for the whole transaction.
            options["postgresql_readonly"] = True
        conn = connection.execution_options(**options)
        with conn.begin() as transaction:
            try:
                yield conn
            finally:
                transaction.rollback()


def read_snapshot(engine: Engine, metadata: sa.MetaData, expected_revisions: Collection[str]) -> Snapshot:
    """All rows of all tables, in dependency order, with the schema revision they belong to."""
    with snapshot_connection(engine) as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
        if revision is None:
            raise BackupError("the database has no schema yet (run `flask --app app db upgrade`); nothing to back up")
        if revision not in expected_revisions:
            expected = ", ".join(sorted(expected_revisions)) or "none"
            raise BackupError(
                f"the database schema is at revision {revision}, but this code's models are at {expected}: "
                "run `flask --app app db upgrade` first so the backup reads what the schema holds"
            )
        tables = [_read_table(conn, table) for table in metadata.sorted_tables]
    return Snapshot(schema_revision=revision, source_database=engine.dialect.name, tables=tables)


def _read_table(conn: Connection, table: sa.Table) -> TableDump:
    columns = {column.name: type_tag(column) for column in table.columns}
    # Ordered by primary key so two backups of the same data are the same payload.
    query = sa.select(table).order_by(*table.primary_key.columns)
    try:
        result = conn.execute(query)
        rows = [{column.name: row._mapping[column] for column in table.columns} for row in result]
    except sa.exc.DBAPIError as exc:
        raise BackupError(f"reading table {table.name} failed: {type(exc.orig).__name__}") from None
    return TableDump(table.name, columns, rows)
