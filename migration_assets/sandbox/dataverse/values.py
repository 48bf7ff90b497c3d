"""Type checks and conversions of column values written through the Web API.

Real: Int32 range and literal conversion errors (0x80048d19), MaxLength (0x80044331 with the real
message), dates from 1753 on, choice values limited to the column's option set, multi-select
choices written and read as a comma-separated string of integers (`"100000000,100000002"`,
reference §3, secondary).
Invented/unconfirmed texts: the out-of-range choice message (0x8004431a, also for a multi-select
value outside its options) and the early-date message (0x80044331 family) follow community
reports, not documentation; a multi-select value is stored in the order written, without
duplicates.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from migration_assets.sandbox.dataverse.core import ODataError
from migration_assets.sandbox.dataverse.model import Attribute, Entity
from migration_assets.sandbox.dataverse.odata import is_guid

INT32 = (-2_147_483_648, 2_147_483_647)
EDM_TYPES = {
    "String": "Edm.String",
    "Memo": "Edm.String",
    "Integer": "Edm.Int32",
    "Decimal": "Edm.Decimal",
    "Money": "Edm.Decimal",
    "Double": "Edm.Double",
    "Boolean": "Edm.Boolean",
    "DateTime": "Edm.DateTimeOffset",
    "Picklist": "Edm.Int32",
    "MultiSelectPicklist": "Edm.String",
    "State": "Edm.Int32",
    "Status": "Edm.Int32",
    "Uniqueidentifier": "Edm.Guid",
    "BigInt": "Edm.Int64",
}
DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[-+]\d{2}:\d{2})?$")


def conversion_error(entity: Entity, attribute: Attribute, value: Any) -> ODataError:
    edm = EDM_TYPES.get(attribute.type, "Edm.String")
    if attribute.type == "DateTime" and attribute.format == "DateOnly":
        edm = "Edm.Date"
    return ODataError(
        400,
        "0x80048d19",
        f"Error identified in Payload provided by the user for Entity :'{entity.entity_set}', For more "
        f"information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293"
        f"  ----> InnerException : Microsoft.OData.ODataException: Cannot convert the literal '{value}' to the "
        f"expected type '{edm}'.",
    )


def coerce(entity: Entity, attribute: Attribute, value: Any) -> Any:
    """Check and normalise one column value.

    Args:
        entity: the table written to.
        attribute: the column.
        value: the JSON value from the request body.

    Returns:
        The value to store.

    Raises:
        ODataError: 400 for a wrong type, a too-long text, an early date or an unknown choice.
    """
    if value is None:
        return None
    kind = attribute.type
    if kind in ("String", "Memo"):
        return _text(entity, attribute, value)
    if kind in ("Integer", "Picklist", "State", "Status", "BigInt"):
        number = _integer(entity, attribute, value)
        if kind in ("Picklist", "State", "Status"):
            check_option(entity, attribute, number)
        return number
    if kind in ("Decimal", "Money", "Double"):
        return _decimal(entity, attribute, value)
    if kind == "Boolean":
        if not isinstance(value, bool):
            raise conversion_error(entity, attribute, value)
        return value
    if kind == "DateTime":
        return _datetime(entity, attribute, value)
    if kind == "MultiSelectPicklist":
        return _multi_select(entity, attribute, value)
    if kind == "Uniqueidentifier":
        if not isinstance(value, str) or not is_guid(value):
            raise conversion_error(entity, attribute, value)
        return value.lower()
    raise ODataError(
        400,
        "0x0",
        f"Invalid property '{attribute.logical_name}' was found in entity "
        f"'Microsoft.Dynamics.CRM.{entity.logical_name}'.",
    )


def _text(entity: Entity, attribute: Attribute, value: Any) -> str:
    if not isinstance(value, str):
        raise conversion_error(entity, attribute, value)
    if attribute.max_length is not None and len(value) > attribute.max_length:
        raise ODataError(
            400,
            "0x80044331",
            f"A validation error occurred.  The length of the '{attribute.logical_name}' attribute of the "
            f"'{entity.logical_name}' entity exceeded the maximum allowed length of '{attribute.max_length}'.",
        )
    return value


def _integer(entity: Entity, attribute: Attribute, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise conversion_error(entity, attribute, value)
    if attribute.type != "BigInt" and not INT32[0] <= value <= INT32[1]:
        raise conversion_error(entity, attribute, value)
    _check_range(entity, attribute, value)
    return value


def _decimal(entity: Entity, attribute: Attribute, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise conversion_error(entity, attribute, value)
    _check_range(entity, attribute, value)
    return value


def _check_range(entity: Entity, attribute: Attribute, value: float) -> None:
    low, high = attribute.min_value, attribute.max_value
    if (low is not None and value < low) or (high is not None and value > high):
        raise ODataError(
            400,
            "0x80044330",
            f"A validation error occurred.  The value {value} of '{attribute.logical_name}' on record of type "
            f"'{entity.logical_name}' is outside the valid range ({low} to {high}).",
        )


def _datetime(entity: Entity, attribute: Attribute, value: Any) -> str:
    if not isinstance(value, str):
        raise conversion_error(entity, attribute, value)
    if attribute.format == "DateOnly":
        if not DATE_ONLY_RE.match(value):
            raise conversion_error(entity, attribute, value)
        parsed = _parse(entity, attribute, value + "T00:00:00+00:00")
        result = value
    else:
        if not DATE_TIME_RE.match(value):
            raise conversion_error(entity, attribute, value)
        parsed = _parse(entity, attribute, value)
        result = parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if parsed.year < 1753:
        raise ODataError(
            400,
            "0x80044331",
            f"A validation error occurred.  The value '{value}' of '{attribute.logical_name}' on record of type "
            f"'{entity.logical_name}' is outside the valid range: dates must be on or after 1753-01-01.",
        )
    return result


def _parse(entity: Entity, attribute: Attribute, value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise conversion_error(entity, attribute, value) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _multi_select(entity: Entity, attribute: Attribute, value: Any) -> str | None:
    """`"1,2"` → the same string after checking each value is one of the column's options."""
    if not isinstance(value, str):
        raise conversion_error(entity, attribute, value)
    values: list[int] = []
    for part in value.split(","):
        if not re.fullmatch(r"\s*-?\d+\s*", part):
            raise conversion_error(entity, attribute, value)
        number = int(part)
        check_option(entity, attribute, number)
        if number not in values:
            values.append(number)
    return ",".join(map(str, values)) if values else None


def check_option(entity: Entity, attribute: Attribute, value: int) -> None:
    allowed = attribute.option_values()
    if value not in allowed:
        raise ODataError(
            400,
            "0x8004431a",
            f"A validation error occurred. The value {value} of '{attribute.logical_name}' on record of type "
            f"'{entity.logical_name}' is outside the valid range. Accepted Values: {','.join(map(str, allowed))}",
        )
