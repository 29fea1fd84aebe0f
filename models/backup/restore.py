"""Write an archive's tables into an EMPTY database at the archive's schema revision, in one transaction."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.engine import Connection, Engine

from models.backup.archive import TableDump
from models.backup.errors import BackupError, RestoreRefused

VERSION_TABLE = "alembic_version"
_BATCH = 500


def prepare_schema(engine: Engine, revision: str, upgrade: Callable[[str], None]) -> bool:
    """Bring a database without tables to `revision`; refuse one at another revision. True if upgraded."""
    try:
        names = set(sa.inspect(engine).get_table_names())
        if not names:
            upgrade(revision)
            return True
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except sa.exc.DBAPIError as exc:
        raise BackupError(f"the target database cannot be read: {type(exc.orig).__name__}") from None
    if current != revision:
        raise RestoreRefused(
            f"the target database is at schema revision {current or 'none'} but the archive at {revision}: "
            "restore needs an empty database (no tables at all, or the archive's revision and no rows)"
        )
    return False


def insert_tables(engine: Engine, tables: list[TableDump]) -> None:
    """Insert every row in dependency order, in one transaction; refuse if any table already has rows."""
    try:
        with engine.begin() as conn:
            target = sa.MetaData()
            target.reflect(conn)
            _check_tables(target, tables)
            if engine.dialect.name == "postgresql":
                _lock_tables(conn, target)
            occupied = [t.name for t in target.sorted_tables if t.name != VERSION_TABLE and _has_rows(conn, t)]
            if occupied:
                raise RestoreRefused(
                    f"the target database is not empty (rows in: {', '.join(occupied)}); "
                    "restore only writes into an empty database"
                )
            by_name = {t.name: t for t in tables}
            for table in target.sorted_tables:  # parents before children
                if table.name in by_name:
                    _insert(conn, table, by_name[table.name])
            if engine.dialect.name == "postgresql":
                _reset_sequences(conn, [target.tables[name] for name in by_name])
    except sa.exc.DBAPIError as exc:
        # The driver's message may quote row values: report the class only.
        raise BackupError(f"restore failed, nothing was written: {type(exc.orig).__name__} from the database") from None


def _check_tables(target: sa.MetaData, tables: list[TableDump]) -> None:
    for dump in tables:
        table = target.tables.get(dump.name)
        if table is None:
            raise RestoreRefused(f"the target database has no table {dump.name}")
        missing = sorted(set(dump.columns) - set(table.columns.keys()))
        if missing:
            raise RestoreRefused(f"table {dump.name} of the target database lacks columns: {', '.join(missing)}")


def _lock_tables(conn: Connection, target: sa.MetaData) -> None:
    # Nobody may write between the emptiness check and the inserts (e.g. a running app installing).
    preparer = conn.dialect.identifier_preparer
    names = ", ".join(preparer.format_table(t) for t in target.sorted_tables)
    conn.exec_driver_sql(f"LOCK TABLE {names} IN EXCLUSIVE MODE")


def _has_rows(conn: Connection, table: sa.Table) -> bool:
    return conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None


def _insert(conn: Connection, table: sa.Table, dump: TableDump) -> None:
    statement = table.insert()
    for start in range(0, len(dump.rows), _BATCH):
        conn.execute(statement, dump.rows[start : start + _BATCH])


def _reset_sequences(conn: Connection, tables: list[sa.Table]) -> None:
    """Explicit ids do not advance PostgreSQL sequences: move each past the highest id restored."""
    preparer = conn.dialect.identifier_preparer
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, sa.Integer):
                continue
            sequence = conn.execute(
                sa.select(sa.func.pg_get_serial_sequence(preparer.format_table(table), column.name))
            ).scalar()
            if sequence is None:
                continue
            highest = conn.execute(sa.select(sa.func.max(column))).scalar()
            # setval(seq, 1, false): the next id is 1 again when the table is empty.
            conn.execute(
                sa.select(sa.func.setval(sa.cast(sa.literal(sequence), REGCLASS), highest or 1, highest is not None))
            )
