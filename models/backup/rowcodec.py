"""Column values to JSON and back, with their types kept (datetimes as ISO 8601, JSON as JSON, booleans).

Every column gets a type tag when the backup is made; the archive carries the tags, so reading it back
depends on the archive alone, not on the models of the code doing the reading.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from models.backup.errors import ArchiveInvalid, BackupError

TAGS = (
    "bool",
    "int",
    "float",
    "decimal",
    "str",
    "json",
    "date",
    "time",
    "datetime",
    "datetime_tz",
    "bytes",
    "uuid",
)


def type_tag(column: sa.Column[Any]) -> str:
    """The tag for a column's SQL type; an unknown type stops the backup rather than lose data."""
    kind = column.type
    # Order matters: Boolean before Integer, JSON and Enum before String (subclass relations).
    checks: tuple[tuple[type[Any], str], ...] = (
        (sa.Boolean, "bool"),
        (sa.Integer, "int"),
        (sa.JSON, "json"),
        (sa.Uuid, "uuid"),
        (sa.String, "str"),
        (sa.Float, "float"),
        (sa.Numeric, "decimal"),
        (sa.Date, "date"),
        (sa.Time, "time"),
        (sa.LargeBinary, "bytes"),
    )
    if isinstance(kind, sa.DateTime):
        return "datetime_tz" if kind.timezone else "datetime"
    for sql_type, tag in checks:
        if isinstance(kind, sql_type):
            return tag
    raise BackupError(
        f"column {column.table.name}.{column.name} has a type the backup does not know ({type(kind).__name__})"
    )


def _encode_datetime_tz(value: dt.datetime) -> str:
    # SQLite keeps no offset: the app writes UTC, so a naive value in a timezone column is UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "bool": bool,
    "int": int,
    "float": float,
    "decimal": str,
    "str": str,
    "json": lambda value: value,
    "date": lambda value: value.isoformat(),
    "time": lambda value: value.isoformat(),
    "datetime": lambda value: value.isoformat(),
    "datetime_tz": _encode_datetime_tz,
    "bytes": lambda value: base64.b64encode(bytes(value)).decode("ascii"),
    "uuid": str,
}


def encode_row(row: Mapping[str, Any], columns: Mapping[str, str]) -> dict[str, Any]:
    """A database row (Python values) as JSON-ready values, column by column."""
    return {name: None if row[name] is None else _ENCODERS[tag](row[name]) for name, tag in columns.items()}


def _strict(kind: type[Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        # bool is an int in Python: refuse it where a number is meant, and the other way round.
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise ValueError(f"expected {kind.__name__}")
        return value

    return check


def _decode_datetime_tz(value: Any) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(_strict(str)(value))
    if parsed.tzinfo is None:
        raise ValueError("expected a timestamp with an offset")
    return parsed


def _decode_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number")
    return float(value)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "bool": _strict(bool),
    "int": _strict(int),
    "float": _decode_float,
    "decimal": lambda value: decimal.Decimal(_strict(str)(value)),
    "str": _strict(str),
    "json": lambda value: value,
    "date": lambda value: dt.date.fromisoformat(_strict(str)(value)),
    "time": lambda value: dt.time.fromisoformat(_strict(str)(value)),
    "datetime": lambda value: dt.datetime.fromisoformat(_strict(str)(value)),
    "datetime_tz": _decode_datetime_tz,
    "bytes": lambda value: base64.b64decode(_strict(str)(value), validate=True),
    "uuid": lambda value: uuid.UUID(_strict(str)(value)),
}


def decode_row(values: Mapping[str, Any], columns: Mapping[str, str], where: str) -> dict[str, Any]:
    """Archive values back to Python values; `where` (table and line) locates an error, no value is quoted."""
    if set(values) != set(columns):
        raise ArchiveInvalid(f"{where}: the row's columns differ from the table's column list")
    decoded: dict[str, Any] = {}
    for name, tag in columns.items():
        value = values[name]
        try:
            decoded[name] = None if value is None else _DECODERS[tag](value)
        except (ValueError, TypeError, ArithmeticError, binascii.Error):
            raise ArchiveInvalid(f"{where}: column {name} does not hold a valid {tag} value") from None
    return decoded
