"""Azure Table Storage limits, checked before anything is sent (the service, and Azurite even more so,
report some of these badly: a 500, or a batch reply the SDK cannot parse).

Limits (learn.microsoft.com "Understanding the Table service data model" and the storage scale
targets): keys are strings of at most 1 KiB without ``/ \\ # ?`` or control characters; a string
property holds at most 32 Ki UTF-16 characters (64 KiB); an entity has at most 252 custom
properties and 1 MiB; a transaction holds at most 100 operations on one partition, 4 MiB in all,
each entity once; table names match ``^[A-Za-z][A-Za-z0-9]{2,62}$``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from spyops.backend.store.base import StoreLimitError

MAX_KEY_UTF16_BYTES = 1024
MAX_STRING_CHARS = 32 * 1024
MAX_CUSTOM_PROPERTIES = 252
MAX_ENTITY_BYTES = 1024 * 1024
MAX_BATCH_OPERATIONS = 100
MAX_BATCH_BYTES = 4 * 1024 * 1024
PAYLOAD_CHUNK_CHARS = 30_000

_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_FORBIDDEN_IN_KEYS = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
_ESCAPED_IN_KEYS = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f%]")


def check_table_name(name: str) -> str:
    if not _TABLE_NAME.match(name):
        raise StoreLimitError(
            f"table name {name!r} is invalid: it must start with a letter, hold only letters and digits, "
            "and be 3 to 63 characters long"
        )
    return name


def escape_key(text: str) -> str:
    """Percent-encode the characters Table Storage forbids in keys (and ``%`` itself, so it reverses)."""
    return _ESCAPED_IN_KEYS.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), text)


def _utf16_bytes(text: str) -> int:
    return len(text.encode("utf-16-le"))


def check_key(name: str, value: str, record_id: str) -> None:
    if _FORBIDDEN_IN_KEYS.search(value):
        raise StoreLimitError(
            f"record {record_id!r}: {name} {value!r} holds a character Table Storage forbids in keys"
        )
    size = _utf16_bytes(value)
    if size > MAX_KEY_UTF16_BYTES:
        raise StoreLimitError(
            f"record {record_id!r}: {name} is {size} bytes, Table Storage allows {MAX_KEY_UTF16_BYTES}"
        )


def _value_bytes(value: Any) -> int:
    if isinstance(value, str):
        return _utf16_bytes(value) + 4
    if isinstance(value, bytes):
        return len(value) + 4
    if isinstance(value, bool):
        return 1
    if isinstance(value, (int, float, dt.datetime)):
        return 8
    raise StoreLimitError(f"unsupported property type {type(value).__name__}")


def entity_bytes(entity: Mapping[str, Any]) -> int:
    """The service's documented size formula: 4 + keys + per property (8 + name + value)."""
    size = 4 + _utf16_bytes(entity["PartitionKey"]) + _utf16_bytes(entity["RowKey"])
    for name, value in entity.items():
        if name in ("PartitionKey", "RowKey"):
            continue
        size += 8 + _utf16_bytes(name) + _value_bytes(value)
    return size


def check_entity(entity: Mapping[str, Any], record_id: str) -> int:
    """Raise StoreLimitError naming the record and the limit it breaks; return the entity's size."""
    check_key("PartitionKey", entity["PartitionKey"], record_id)
    check_key("RowKey", entity["RowKey"], record_id)
    custom = [name for name in entity if name not in ("PartitionKey", "RowKey")]
    if len(custom) > MAX_CUSTOM_PROPERTIES:
        raise StoreLimitError(
            f"record {record_id!r}: {len(custom)} properties, Table Storage allows {MAX_CUSTOM_PROPERTIES}"
        )
    for name in custom:
        value = entity[name]
        if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
            raise StoreLimitError(
                f"record {record_id!r}: property {name} has {len(value)} characters, "
                f"Table Storage allows {MAX_STRING_CHARS}"
            )
    size = entity_bytes(entity)
    if size > MAX_ENTITY_BYTES:
        raise StoreLimitError(
            f"record {record_id!r}: entity is {size} bytes, Table Storage allows {MAX_ENTITY_BYTES}"
        )
    return size


def split_payload(payload: str) -> dict[str, str]:
    """Spread a JSON document over string properties p0, p1, ... of at most PAYLOAD_CHUNK_CHARS each."""
    step = PAYLOAD_CHUNK_CHARS
    chunks = [payload[i : i + step] for i in range(0, len(payload), step)] or [""]
    return {f"p{index}": chunk for index, chunk in enumerate(chunks)}


def join_payload(entity: Mapping[str, Any]) -> str:
    parts: list[str] = []
    index = 0
    while f"p{index}" in entity:
        parts.append(entity[f"p{index}"])
        index += 1
    return "".join(parts)
