"""The event models and the events table's row map as data, for the native decoder.

The pydantic models stay the spec: the decoder is handed their fields (types, constraints,
defaults) walked from ``model_fields``, and the columns it fills from ``store.layout.EVENTS``,
never a copy written in Rust. A validator, constraint or model config this walker does not know
stops the worker at start-up rather than letting the decoder accept what pydantic refuses; a
type it cannot read is "unsupported", and any event carrying a value of it steps aside.
"""

from __future__ import annotations

import functools
import json
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from uuid import UUID

import orjson
from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import AllowInfNan, AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

from schemas.events.envelope import SHARED_DEVICE_KINDS, Envelope, FreeText, Identities
from schemas.events.registry import ALL_EVENTS, MAX_EVENT_BYTES
from streams.store.layout import EVENTS, Column

# Field validators the models run in Python, and the pattern the decoder checks in their place.
_SHA256 = r"^[0-9a-f]{64}\z"
_FIELD_CHECKS: dict[tuple[type[BaseModel], str], str] = {
    (Identities, "email_hash"): _SHA256,
    (Identities, "phone_hash"): _SHA256,
}
_KNOWN_MODEL_VALIDATORS = {"_store_known"}  # a store event names its store: checked by the decoder
# The models' config the decoder reproduces: unknown fields ignored, strings stripped (it steps
# aside on any string with a space at either end), frozen.
_KNOWN_CONFIG: dict[str, Any] = {"extra": "ignore", "frozen": True, "str_strip_whitespace": True}
# The envelope's fields read as checked text: canonical lowercase UUIDs, strict RFC 3339.
_TEXT_KINDS = {"event_id": "uuid", "occurred_at": "datetime", "sent_at": "datetime", "received_at": "datetime"}
_UNSUPPORTED: dict[str, Any] = {"k": "unsupported"}


def _rust_pattern(p: str) -> str:
    # Python's `$` also matches before a final newline, pydantic's (Rust's regex) does not; Rust
    # spells the very end `\z`.
    p = p.replace(r"\Z", r"\z")
    return p[:-1] + r"\z" if p.endswith("$") and not p.endswith(r"\$") else p


def _constraints(metadata: list[Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # A Field(...) inside Annotated carries its constraints as metadata of its own.
    for m in (c for meta in metadata for c in (meta.metadata if isinstance(meta, FieldInfo) else [meta])):
        if isinstance(m, MinLen):
            out["min"] = m.min_length
        elif isinstance(m, MaxLen):
            out["max"] = m.max_length
        elif isinstance(m, Ge):
            out["ge"] = m.ge
        elif isinstance(m, Le):
            out["le"] = m.le
        elif type(m).__name__ == "_PydanticGeneralMetadata" and set(vars(m)) <= {"pattern"}:
            if vars(m).get("pattern"):
                out["pattern"] = _rust_pattern(vars(m)["pattern"])
        elif not isinstance(m, FreeText | AllowInfNan):  # PII marker; JSON has no inf nor nan
            raise TypeError(f"the native decoder has no equivalent for {m!r} on {where}")
    return out


class _Builder:
    def __init__(self) -> None:
        self.structs: list[list[dict[str, Any]]] = []
        self._index: dict[type[BaseModel], int] = {}

    def struct(self, model: type[BaseModel]) -> int:
        hit = self._index.get(model)
        if hit is not None:
            return hit
        _check_model(model)
        i = self._index[model] = len(self.structs)
        self.structs.append([])  # reserved: a model may refer to itself
        is_event = issubclass(model, Envelope)
        fields = []
        for name, info in model.model_fields.items():
            owner = next((b for b in model.__mro__ if (b, name) in _FIELD_CHECKS), model)
            text = _TEXT_KINDS.get(name) if is_event else None
            ty = self.type(info.annotation, list(info.metadata), f"{owner.__name__}.{name}", text=text)
            if (owner, name) in _FIELD_CHECKS:
                ty = _with_pattern(ty, _FIELD_CHECKS[owner, name])
            field: dict[str, Any] = {"name": name, "type": ty, "required": info.is_required()}
            if not info.is_required():
                value = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
                field["default_json"] = orjson.dumps(
                    value.model_dump(mode="json") if isinstance(value, BaseModel) else value
                ).decode()
            fields.append(field)
        self.structs[i] = fields
        return i

    def type(self, tp: Any, metadata: list[Any], where: str, *, text: str | None = None) -> dict[str, Any]:
        origin = get_origin(tp)
        if origin is Annotated:
            base, *extra = get_args(tp)
            return self.type(base, [*extra, *metadata], where, text=text)
        if origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) != 1 or len(get_args(tp)) != 2:
                return _UNSUPPORTED
            return {"k": "opt", "t": self.type(members[0], metadata, where, text=text)}
        c = _constraints(metadata, where)
        if tp is UUID or tp is AwareDatetime:
            return {"k": text} if text else _UNSUPPORTED
        if origin is Literal:
            values = get_args(tp)
            return {"k": "lit", "values": list(values)} if all(isinstance(v, str) for v in values) else _UNSUPPORTED
        if origin is list:
            (item,) = get_args(tp)
            return {"k": "list", "item": self.type(item, [], where), "min": c.get("min"), "max": c.get("max")}
        if origin is dict:
            key, value = get_args(tp)
            if key is not str:
                return _UNSUPPORTED
            return {"k": "dict", "value": self.type(value, [], where), "min": c.get("min"), "max": c.get("max")}
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return {"k": "struct", "i": self.struct(tp)}
        if tp is str:
            return {"k": "str", "min": c.get("min"), "max": c.get("max"), "pattern": c.get("pattern")}
        if tp is int or tp is float:
            return {"k": "int" if tp is int else "float", "ge": c.get("ge"), "le": c.get("le")}
        if tp is bool:
            return {"k": "bool"}
        return _UNSUPPORTED


def _with_pattern(ty: dict[str, Any], pattern: str) -> dict[str, Any]:
    if ty["k"] == "opt":
        return {"k": "opt", "t": _with_pattern(ty["t"], pattern)}
    return {**ty, "pattern": pattern}


def _check_model(model: type[BaseModel]) -> None:
    decorators = model.__pydantic_decorators__
    for name, v in decorators.field_validators.items():
        for f in v.info.fields:
            if not any((b, f) in _FIELD_CHECKS for b in model.__mro__):
                raise TypeError(f"{model.__name__}.{name}: add the native decoder's equivalent to _FIELD_CHECKS")
    unknown = set(decorators.model_validators) - _KNOWN_MODEL_VALIDATORS
    if unknown:
        raise TypeError(f"{model.__name__}: model validators {unknown} have no native equivalent")
    config = {k: v for k, v in model.model_config.items() if k not in _KNOWN_CONFIG or v != _KNOWN_CONFIG[k]}
    if config:
        raise TypeError(f"{model.__name__}: model config {config} has no native equivalent")


def columns_spec(columns: tuple[Column, ...]) -> list[dict[str, Any]]:
    """The row map's columns the decoder fills from the event (those with sources)."""
    return [
        {
            "name": c.name,
            "kind": c.kind,
            "sources": [s.split(".") for s in c.sources],
            "combine": c.combine,
            "personal": c.personal,
            "nullable": c.nullable,
        }
        for c in columns
        if c.sources
    ]


@functools.cache  # the models do not change in a process; a worker's normalizers share it
def spec(columns: tuple[Column, ...] = EVENTS) -> str:
    """The event models and the mapped columns as the decoder reads them (JSON)."""
    b = _Builder()
    events = {model.model_fields["type"].default: b.struct(model) for model in ALL_EVENTS}
    return json.dumps(
        {
            "structs": b.structs,
            "events": events,
            "columns": columns_spec(columns),
            "max_bytes": MAX_EVENT_BYTES,
            "shared_kinds": sorted(SHARED_DEVICE_KINDS),
        }
    )
