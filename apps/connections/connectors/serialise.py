"""JSON (de)serialisation of the neutral records and of `Catalog`: plain dicts, stable, versioned.

What is stored (a scan's schema, a mapping's source and destination schemas) must read back into the
same dataclasses after Migrayt has moved on, so the format is:

* `catalog_to_dict(catalog)` -> {"format": "migrayt.catalog", "version": 1, "project": {...},
  "work_item_types": [...], ...}; `catalog_from_dict(data)` is its inverse. A dict of a newer version
  than this code knows raises `SerialisationError` rather than guess.
* `record_to_dict(record)` -> {"record": "<class name>", ...fields}; `record_from_dict(data)` its inverse.
* Field values: datetimes as ISO 8601 strings, enums as their values, tuples as lists, nested records
  (a Person inside a Comment) as dicts without the "record" tag. Keys are sorted when dumped
  (`catalog_dumps`), so the same catalog always gives the same text.
* Unknown keys in a stored dict are ignored (a field removed later reads back without it); a missing key
  takes the dataclass default, so a field added later reads old rows.

Plain Python: no Django.
"""

import dataclasses
import json
import types
import typing
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

from apps.connections.connectors import records
from apps.connections.connectors.base import Catalog

CATALOG_FORMAT = "migrayt.catalog"
CATALOG_VERSION = 1

RECORD_CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        records.WorkItem, records.Comment, records.Attachment, records.Link, records.Person, records.Iteration,
        records.Area, records.Revision, records.FieldDefinition, records.WorkItemType, records.LinkType,
        records.Project, records.State, records.FieldChange, records.StateCheckpoint,
    )
}


class SerialisationError(ValueError):
    """A stored dict this code cannot read back: wrong format, newer version, or a value of the wrong type."""


# --- to plain values -----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    # Vendor values the neutral model does not name (WorkItem.fields) are JSON already; anything else is
    # kept as its text rather than dropped.
    return str(value)


def record_to_dict(record) -> dict:
    name = type(record).__name__
    if name not in RECORD_CLASSES:
        raise SerialisationError(f"{name} is not a neutral record.")
    return {"record": name, **_plain(record)}


def catalog_to_dict(catalog: Catalog) -> dict:
    data = _plain(catalog)
    return {"format": CATALOG_FORMAT, "version": CATALOG_VERSION, **data}


def catalog_dumps(catalog: Catalog) -> str:
    return json.dumps(catalog_to_dict(catalog), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# --- back to records -----------------------------------------------------------------------------------


@cache
def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _from_plain(annotation, value: Any, where: str) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return _from_plain(options[0], value, where)
        return value  # a union of several record types is not used inside records
    if annotation is Any:
        return value
    if origin is tuple:
        inner = typing.get_args(annotation)[0]
        return tuple(_from_plain(inner, v, where) for v in _list(value, where))
    if origin is list:
        inner = typing.get_args(annotation)[0]
        return [_from_plain(inner, v, where) for v in _list(value, where)]
    if origin is dict:
        if not isinstance(value, dict):
            raise SerialisationError(f"{where}: expected an object.")
        return dict(value)
    if isinstance(annotation, type):
        if dataclasses.is_dataclass(annotation):
            return _dataclass_from(annotation, value, where)
        if issubclass(annotation, Enum):
            try:
                return annotation(value)
            except ValueError:
                raise SerialisationError(f"{where}: {value!r} is not a {annotation.__name__}.") from None
        if annotation is datetime:
            try:
                return datetime.fromisoformat(value)
            except (TypeError, ValueError):
                raise SerialisationError(f"{where}: {value!r} is not a date and time.") from None
        if annotation is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if annotation in (str, int, bool) and not isinstance(value, annotation):
            raise SerialisationError(f"{where}: expected {annotation.__name__}, got {type(value).__name__}.")
    return value


def _list(value, where: str) -> list:
    if not isinstance(value, list | tuple):
        raise SerialisationError(f"{where}: expected a list.")
    return list(value)


def _dataclass_from(cls, data, where: str):
    if not isinstance(data, dict):
        raise SerialisationError(f"{where}: expected an object for {cls.__name__}.")
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _from_plain(hints[f.name], data[f.name], f"{where}.{f.name}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise SerialisationError(f"{where}: {cls.__name__} is missing a required value ({exc}).") from None


def record_from_dict(data: dict):
    name = data.get("record") if isinstance(data, dict) else None
    cls = RECORD_CLASSES.get(name)
    if cls is None:
        raise SerialisationError(f"Unknown record type {name!r}.")
    return _dataclass_from(cls, data, name)


def catalog_from_dict(data: dict) -> Catalog:
    if not isinstance(data, dict) or data.get("format") != CATALOG_FORMAT:
        raise SerialisationError("This is not a stored catalog (format is not migrayt.catalog).")
    version = data.get("version")
    if not isinstance(version, int) or version > CATALOG_VERSION or version < 1:
        raise SerialisationError(f"Catalog format version {version!r} is not one this code reads "
                                 f"(1 to {CATALOG_VERSION}).")
    return _dataclass_from(Catalog, data, "catalog")


def catalog_loads(text: str) -> Catalog:
    return catalog_from_dict(json.loads(text))
