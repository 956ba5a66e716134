"""Pieces every spyops.io kind shares: the base model, references, resources, conditions, CEL rules."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "spyops.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "spyops"

# DNS-1123 label (Service, ServiceAccount and most names the operator derives from a CR's name).
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# DNS-1123 subdomain (Secret names, ConfigMap keys are looser but this is what we accept).
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECRET_KEY = r"^[-._a-zA-Z0-9]+$"  # noqa: S105 - a pattern for key names, not a secret
QUANTITY = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
IMAGE = r"^[a-zA-Z0-9][a-zA-Z0-9._/:@-]*$"
HH_MM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def cel(
    rule: str, message: str, field_path: str | None = None, reason: str = "FieldValueInvalid"
) -> dict[str, str]:
    """One ``x-kubernetes-validations`` entry; ``field_path`` makes the API server name the field."""
    entry = {"rule": rule, "message": message, "reason": reason}
    if field_path is not None:
        entry["fieldPath"] = field_path
    return entry


def validations(*rules: dict[str, str]) -> Any:
    """``json_schema_extra`` for a model's CEL rules (typed Any: pydantic's JsonDict is narrower than needed)."""
    return {"x-kubernetes-validations": list(rules)}


def quantity_rules(*fields: str, positive: bool = False) -> list[dict[str, str]]:
    """CEL rules (Kubernetes' quantity library) refusing a malformed or negative (or zero) quantity."""
    what = "greater than zero" if positive else "zero or more"
    compare = (
        "quantity(self.{0}).isGreaterThan(quantity('0'))"
        if positive
        else "!quantity(self.{0}).isLessThan(quantity('0'))"
    )
    return [
        cel(
            f"!has(self.{name}) || (isQuantity(self.{name}) && {compare.format(name)})",
            f"{name} must be a Kubernetes quantity {what}",
            f".{name}",
        )
        for name in fields
    ]


@cache
def _has_tz_database() -> bool:
    return bool(zoneinfo.available_timezones())


def tz_database_name(value: str) -> str:
    """``value`` if the tz database knows it; the schema can only check its shape, not that it exists."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        if not _has_tz_database():
            raise ValueError(
                f"cannot check time zone {value!r}: no tz database on this system (install tzdata)"
            ) from None
        raise ValueError(f"{value!r} is not a time zone of the tz database (e.g. America/New_York)") from None
    return value


class ApiModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are refused (the CRD prunes them anyway)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class LocalObjectReference(ApiModel):
    """A reference to an object of a known kind in the same namespace."""

    name: str = Field(
        min_length=1, max_length=63, pattern=DNS_LABEL, description="Name of the object in this namespace."
    )


class ResourceList(ApiModel):
    """CPU and memory quantities (Kubernetes quantity syntax, e.g. 100m, 256Mi)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        json_schema_extra=validations(*quantity_rules("cpu", "memory")),
    )

    cpu: str | None = Field(
        default=None, pattern=QUANTITY, max_length=32, description="CPU quantity, e.g. 250m."
    )
    memory: str | None = Field(
        default=None, pattern=QUANTITY, max_length=32, description="Memory quantity, e.g. 256Mi."
    )


def _request_within_limit(name: str) -> dict[str, str]:
    # Malformed quantities are ResourceList's rule to report; here they only must not error.
    request, limit = f"self.requests.{name}", f"self.limits.{name}"
    return cel(
        f"!has(self.requests) || !has(self.limits) || !has({request}) || !has({limit}) "
        f"|| !isQuantity({request}) || !isQuantity({limit}) "
        f"|| quantity({request}).compareTo(quantity({limit})) <= 0",
        f"requests.{name} must not exceed limits.{name}",
        f".requests.{name}",
    )


class Resources(ApiModel):
    """Requests and limits of one container."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        json_schema_extra=validations(_request_within_limit("cpu"), _request_within_limit("memory")),
    )

    requests: ResourceList | None = Field(default=None, description="What the scheduler reserves.")
    limits: ResourceList | None = Field(default=None, description="The most the container may use.")


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(ApiModel):
    """A condition in the Kubernetes shape (metav1.Condition), read by kstatus, Flux, Argo CD and kubectl wait."""

    type: str = Field(
        max_length=316,
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        description="CamelCase condition type: Ready, Reconciling, Stalled or a domain condition.",
    )
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(
        min_length=1,
        max_length=1024,
        pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        description="CamelCase reason for the last transition.",
    )
    message: str = Field(default="", max_length=32768, description="Human-readable details.")
    last_transition_time: dt.datetime = Field(description="When the status last changed.")
    observed_generation: int | None = Field(
        default=None, ge=0, description="metadata.generation the condition was computed from."
    )


def conditions_field() -> Any:
    return Field(
        default=None,
        description="Current state as Kubernetes conditions (Ready, Reconciling, Stalled and domain ones).",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    type: str
    json_path: str
    description: str
    priority: int = 0

    def to_crd(self) -> dict[str, Any]:
        column: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "jsonPath": self.json_path,
            "description": self.description,
        }
        if self.priority:
            column["priority"] = self.priority
        return column


READY_COLUMN = PrinterColumn(
    "Ready", "string", '.status.conditions[?(@.type=="Ready")].status', "Whether the object is Ready."
)
AGE_COLUMN = PrinterColumn("Age", "date", ".metadata.creationTimestamp", "Time since creation.")


@dataclass(frozen=True)
class KindInfo:
    """What the CRD needs besides the schema: names, columns, the spec and status models."""

    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    spec: type[ApiModel]
    status: type[ApiModel]
    description: str
    printer_columns: tuple[PrinterColumn, ...]
    spec_validations: tuple[dict[str, str], ...] = field(default=())

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"
