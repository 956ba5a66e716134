"""Generate the CustomResourceDefinitions from the pydantic models (the one source of truth).

The walker turns each model into an OpenAPI v3 *structural* schema as the API server wants it:
every property typed, described, with defaults, enums, ranges, patterns and the CEL rules
(``x-kubernetes-validations``) attached to the model they check. ``crds/*.yaml`` are its output;
``spyops crds check`` (and a unit test) fail when the checked-in files drift from the code.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from pathlib import Path
from typing import Any

import annotated_types
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from spyops.operator.api.common import CATEGORY, GROUP, VERSION, KindInfo, cel
from spyops.operator.api.gateway import GATEWAY_KIND
from spyops.operator.api.strategy import STRATEGY_KIND
from spyops.operator.api.vpnlink import VPNLINK_KIND

ALL_KINDS: tuple[KindInfo, ...] = (STRATEGY_KIND, GATEWAY_KIND, VPNLINK_KIND)
# Children get names like "<name>-detector-signals"; 40 leaves room under the 63-character label limit.
MAX_NAME_LENGTH = 40


class SchemaError(TypeError):
    """A model uses a type the CRD generator cannot express."""


def _strip_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise SchemaError(f"unions other than Optional are not structural: {annotation}")
        return args[0]
    return annotation


def _apply_constraints(schema: dict[str, Any], metadata: list[Any]) -> None:
    is_array = schema.get("type") == "array"
    is_object = schema.get("type") == "object"
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            schema["minimum"] = item.ge
        elif isinstance(item, annotated_types.Gt):
            schema["minimum"] = item.gt
            schema["exclusiveMinimum"] = True
        elif isinstance(item, annotated_types.Le):
            schema["maximum"] = item.le
        elif isinstance(item, annotated_types.Lt):
            schema["maximum"] = item.lt
            schema["exclusiveMaximum"] = True
        elif isinstance(item, annotated_types.MinLen):
            schema["minItems" if is_array else "minProperties" if is_object else "minLength"] = (
                item.min_length
            )
        elif isinstance(item, annotated_types.MaxLen):
            schema["maxItems" if is_array else "maxProperties" if is_object else "maxLength"] = (
                item.max_length
            )
        elif getattr(item, "pattern", None) is not None:
            schema["pattern"] = item.pattern
        else:
            raise SchemaError(f"constraint {item!r} has no CRD equivalent")


def _deep_merge(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value


def _type_schema(annotation: Any) -> dict[str, Any]:
    annotation = _strip_optional(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        schema = _type_schema(base)
        _apply_constraints(schema, metadata)
        return schema
    if origin is list:
        (item,) = typing.get_args(annotation)
        return {"type": "array", "items": _type_schema(item)}
    if origin is dict:
        key, value = typing.get_args(annotation)
        if key is not str:
            raise SchemaError(f"map keys must be strings: {annotation}")
        return {"type": "object", "additionalProperties": _type_schema(value)}
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return model_schema(annotation)
        if issubclass(annotation, enum.Enum):
            return {"type": "string", "enum": [member.value for member in annotation]}
        if issubclass(annotation, bool):
            return {"type": "boolean"}
        if issubclass(annotation, int):
            return {"type": "integer", "format": "int64"}
        if issubclass(annotation, float):
            return {"type": "number"}
        if issubclass(annotation, str):
            return {"type": "string"}
        if issubclass(annotation, dt.datetime):
            return {"type": "string", "format": "date-time"}
    raise SchemaError(f"no CRD schema for type {annotation!r}")


def _default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        produced = info.default_factory()  # type: ignore[call-arg]
        if isinstance(produced, BaseModel):
            # The whole defaulted object: the API server checks a default against the CEL rules as
            # it is written, before nested defaults would fill an empty object.
            return produced.model_dump(mode="json", by_alias=True, exclude_none=True)
        return produced
    if info.default is PydanticUndefined or info.default is None:
        return PydanticUndefined
    if isinstance(info.default, enum.Enum):
        return info.default.value
    return info.default


def field_schema(info: FieldInfo) -> dict[str, Any]:
    schema = _type_schema(info.annotation)
    schema.pop("description", None)
    _apply_constraints(schema, info.metadata)
    if not info.description:
        raise SchemaError("every field needs a description")
    schema["description"] = info.description
    default = _default(info)
    if default is not PydanticUndefined:
        schema["default"] = default
    if isinstance(info.json_schema_extra, dict):
        _deep_merge(schema, info.json_schema_extra)
    if schema.get("type") == "array" and "x-kubernetes-list-type" not in schema:
        schema["x-kubernetes-list-type"] = "atomic"
    return schema


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, info in model.model_fields.items():
        wire = info.alias or name
        try:
            properties[wire] = field_schema(info)
        except SchemaError as exc:
            raise SchemaError(f"{model.__name__}.{name}: {exc}") from exc
        if info.is_required():
            required.append(wire)
    schema: dict[str, Any] = {
        "type": "object",
        "description": (model.__doc__ or model.__name__).strip().split("\n")[0],
    }
    schema["properties"] = properties
    if required:
        schema["required"] = required
    if model.model_config.get("extra") == "allow":
        # Status: the bots and kopf may add fields the operator does not own.
        schema["x-kubernetes-preserve-unknown-fields"] = True
    extra = model.model_config.get("json_schema_extra")
    if isinstance(extra, dict):
        _deep_merge(schema, extra)
    return schema


def crd_manifest(kind: KindInfo) -> dict[str, Any]:
    spec_schema = model_schema(kind.spec)
    status_schema = model_schema(kind.status)
    root: dict[str, Any] = {
        "type": "object",
        "description": kind.description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "description": "APIVersion of this object."},
            "kind": {"type": "string", "description": "Kind of this object."},
            "metadata": {"type": "object"},
            "spec": spec_schema,
            "status": status_schema,
        },
        "x-kubernetes-validations": [
            cel(
                f"size(self.metadata.name) <= {MAX_NAME_LENGTH}",
                f"metadata.name must be at most {MAX_NAME_LENGTH} characters (child objects append suffixes)",
                None,
                "FieldValueInvalid",
            )
        ],
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": kind.crd_name,
            "labels": {"app.kubernetes.io/name": "spyops", "app.kubernetes.io/component": "crd"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.singular,
                "shortNames": list(kind.short_names),
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [column.to_crd() for column in kind.printer_columns],
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }


def render_crd_yaml(kind: KindInfo, for_chart: bool = False) -> str:
    """The CRD as YAML; the chart's copy is annotated so that `helm uninstall` keeps it (and the CRs)."""
    header = (
        "# Generated by `spyops crds generate` from spyops.operator.api (the pydantic models).\n"
        "# Do not edit by hand: change the models and regenerate.\n"
    )
    manifest = crd_manifest(kind)
    if for_chart:
        manifest["metadata"]["annotations"] = {"helm.sh/resource-policy": "keep"}
    return header + yaml.safe_dump(manifest, sort_keys=False, width=120)


def crd_file_name(kind: KindInfo) -> str:
    return f"{kind.crd_name}.yaml"


def generate(directory: Path, chart_directory: Path | None = None) -> list[Path]:
    written = []
    targets = [(directory, False)] + ([(chart_directory, True)] if chart_directory is not None else [])
    for target, for_chart in targets:
        target.mkdir(parents=True, exist_ok=True)
        for kind in ALL_KINDS:
            path = target / crd_file_name(kind)
            path.write_text(render_crd_yaml(kind, for_chart), encoding="utf-8")
            written.append(path)
    return written


def drifted(directory: Path, chart_directory: Path | None = None) -> list[str]:
    """Names of CRD files that are missing or differ from what the models generate."""
    stale = []
    targets = [(directory, False)] + ([(chart_directory, True)] if chart_directory is not None else [])
    for target, for_chart in targets:
        for kind in ALL_KINDS:
            path = target / crd_file_name(kind)
            if not path.is_file() or path.read_text(encoding="utf-8") != render_crd_yaml(kind, for_chart):
                stale.append(str(path))
    return stale
