"""The worker's fast decoder: msgspec structs derived from the pydantic models, which stay the spec.

Validating into pydantic models was the largest single cost of a worker (py-spy, bench/README.md):
side by side, ``parse_event`` took 33 µs an event and ``decode`` here 14 µs, guard and datetimes
included. Nothing here is written by hand twice: the structs, constraints, defaults and the tagged
union are generated from the models' fields at import, and a validator, constraint or model
config the generator does not know stops the import.

The fast path may refuse more than pydantic, never less, and must read the same values. Where the
two libraries differ it steps aside, and ``decode`` returns None so the caller takes pydantic's path
(which also names the typed reason of a refusal):
- pydantic strips whitespace from strings (``str_strip_whitespace``) before checking lengths: any
  payload with a space, a non-ASCII byte or an escape beside a quote steps aside (msgspec itself
  refuses raw control bytes in strings, as JSON does);
- msgspec reads datetime spellings pydantic refuses (no seconds, say) and rounds sub-microsecond
  fractions that pydantic truncates: datetimes are read as text matching a strict RFC 3339 pattern
  (at most 6 fraction digits), which pydantic also accepts, and parsed by ``datetime.fromisoformat``;
- event ids are read as canonical lowercase UUID text (what ``str(UUID)`` gives); others step aside.
The envelope's id and datetime texts are matched for a whole batch in one RE2 pass per field
(``decode_many``): as msgspec patterns, Python's ``re`` took ~3 µs of a decode; a batch of 1,000
now decodes in ~5 µs an event against ~8 (50,000 corpus events, one run).
tests/schemas/test_fast.py checks that both paths read the same rows from the corpus and from fuzzing.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin
from uuid import UUID

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import AllowInfNan, AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

from schemas.events.envelope import SHARED_DEVICE_KINDS, Envelope, FreeText, Identities
from schemas.events.registry import ALL_EVENTS, MAX_EVENT_BYTES

# A space, a non-ASCII byte or an escape at either end of a string. msgspec itself refuses raw
# control bytes inside strings and NaN/Infinity, as JSON does (pydantic reads the last two).
_STRING_EDGE = re.compile(rb'"[ \x80-\xff\\]|[ \x80-\xff]"|\\u[0-9a-fA-F]{4}"|\\[bfnrt/]"')


# What ``_steps_aside`` looks for first, as one RE2 pattern: a payload with none of these never steps
# aside, so a caller that screened a whole batch at once may skip the test (``decode(screened=True)``).
STEP_ASIDE_TRIGGERS = r'" | "|\\|[^\x00-\x7f]'


def _steps_aside(raw: bytes) -> bool:
    # Substring tests are memchr-fast; the regex runs only on the rare payload with escapes or
    # non-ASCII text (on every payload it cost more than decoding).
    if b'" ' in raw or b' "' in raw:
        return True
    return (b"\\" in raw or not raw.isascii()) and _STRING_EDGE.search(raw) is not None


# RE2 syntax (pyarrow): ``\z`` is the end of the text, ``[0-9]`` ASCII digits only.
_UUID_TEXT = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z"
_RFC3339 = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})\z"
# The envelope's fields read as text and matched in ``decode_many``; no other model may have one.
_TEXT_CHECKED = {"event_id": _UUID_TEXT, "occurred_at": _RFC3339, "sent_at": _RFC3339, "received_at": _RFC3339}
_SHA256_TEXT = r"^[0-9a-f]{64}\Z"


# Validators the models run in Python, and what the fast path does in their place.
_FIELD_CHECKS: dict[tuple[type[BaseModel], str], str] = {
    (Identities, "email_hash"): _SHA256_TEXT,
    (Identities, "phone_hash"): _SHA256_TEXT,
}
_KNOWN_MODEL_VALIDATORS = {"_store_known"}  # store events need a store: checked in ``decode``
# The models' config the structs reproduce: unknown fields ignored (msgspec's default), strings
# stripped (payloads where it could matter step aside), frozen (sub-structs are too).
_KNOWN_CONFIG: dict[str, Any] = {"extra": "ignore", "frozen": True, "str_strip_whitespace": True}


def _pattern(p: str) -> str:
    # Python's `$` also matches before a final newline; pydantic's does not.
    return p[:-1] + r"\Z" if p.endswith("$") else p


def _meta(metadata: list[Any], owner: type[BaseModel] | None = None, name: str = "") -> msgspec.Meta | None:
    kw: dict[str, Any] = {}
    # A Field(...) inside Annotated carries its constraints as metadata of its own.
    flat = [c for m in metadata for c in (m.metadata if isinstance(m, FieldInfo) else [m])]
    for m in flat:
        if isinstance(m, MinLen):
            kw["min_length"] = m.min_length
        elif isinstance(m, MaxLen):
            kw["max_length"] = m.max_length
        elif isinstance(m, Ge):
            kw["ge"] = m.ge
        elif isinstance(m, Le):
            kw["le"] = m.le
        elif type(m).__name__ == "_PydanticGeneralMetadata":
            general = vars(m)
            if set(general) - {"pattern"}:
                raise TypeError(f"no fast equivalent for constraint {m!r} on {owner}.{name}")
            if general.get("pattern"):
                kw["pattern"] = _pattern(general["pattern"])
        elif isinstance(m, FreeText):
            pass  # marks a field for the PII scrub, which runs before any reader
        elif isinstance(m, AllowInfNan):
            pass  # JSON has neither inf nor nan, and msgspec refuses the NaN/Infinity literals
        else:
            raise TypeError(f"no fast equivalent for constraint {m!r} on {owner}.{name}")
    check = _FIELD_CHECKS.get((owner, name)) if owner else None
    if check:
        kw["pattern"] = check
    return msgspec.Meta(**kw) if kw else None


def _annotated(base: Any, meta: msgspec.Meta | None) -> Any:
    return Annotated[base, meta] if meta is not None else base


def _fast_type(tp: Any, metadata: list[Any], owner: type[BaseModel] | None = None, name: str = "") -> Any:
    origin = get_origin(tp)
    if origin is Annotated:
        base, *extra = get_args(tp)
        return _fast_type(base, [*extra, *metadata], owner, name)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        if len(members) != 1:
            raise TypeError(f"no fast equivalent for {tp} on {owner}.{name}")
        return _fast_type(members[0], metadata, owner, name) | None
    if origin is Literal:
        return tp
    if origin is list:
        (item,) = get_args(tp)
        return _annotated(list[_fast_type(item, [])], _meta(metadata, owner, name))  # type: ignore[misc]
    if origin is dict:
        key, value = get_args(tp)
        return _annotated(dict[_fast_type(key, []), _fast_type(value, [])], _meta(metadata, owner, name))  # type: ignore[misc]
    if tp is AwareDatetime or tp is UUID:
        # Read as text, matched and parsed in ``decode_many``: msgspec's own datetime parser reads
        # spellings pydantic refuses.
        if not (owner and issubclass(owner, Envelope) and name in _TEXT_CHECKED):
            raise TypeError(f"no fast equivalent for {tp} on {owner}.{name}: only the envelope's are checked")
        return str
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _struct(tp)
    if tp in (str, int, float, bool):
        return _annotated(tp, _meta(metadata, owner, name))
    raise TypeError(f"no fast equivalent for {tp} on {owner}.{name}")


class _EventStruct(msgspec.Struct, kw_only=True, gc=False):
    """Base of the generated event structs: what the worker reads besides the fields."""

    type: typing.ClassVar[str]

    @property
    def is_device_shared(self) -> bool:
        return self.context.device_kind in SHARED_DEVICE_KINDS  # type: ignore[attr-defined]


_STRUCTS: dict[type[BaseModel], type[msgspec.Struct]] = {}


def _default(info: FieldInfo) -> dict[str, Any]:
    if info.is_required():
        return {}
    if info.default_factory is not None:
        return {"default": msgspec.field(default_factory=info.default_factory)}  # type: ignore[arg-type]
    if isinstance(info.default, BaseModel):
        if info.default != type(info.default)():
            raise TypeError(f"no fast equivalent for the default {info.default!r}")
        return {"default": msgspec.field(default_factory=_struct(type(info.default)))}
    return {"default": info.default}


def _struct(model: type[BaseModel]) -> type[msgspec.Struct]:
    hit = _STRUCTS.get(model)
    if hit is not None:
        return hit
    decorators = model.__pydantic_decorators__
    for name in decorators.field_validators:
        for f in decorators.field_validators[name].info.fields:
            if (model, f) not in _FIELD_CHECKS and not any((b, f) in _FIELD_CHECKS for b in model.__mro__):
                raise TypeError(f"{model.__name__}.{name}: add its fast equivalent to _FIELD_CHECKS")
    unknown = set(decorators.model_validators) - _KNOWN_MODEL_VALIDATORS
    if unknown:
        raise TypeError(f"{model.__name__}: model validators {unknown} have no fast equivalent")
    config = {k: v for k, v in model.model_config.items() if k not in _KNOWN_CONFIG or v != _KNOWN_CONFIG[k]}
    if config:
        raise TypeError(f"{model.__name__}: model config {config} has no fast equivalent")
    is_event = issubclass(model, Envelope)
    fields: list[tuple[str, Any, Any] | tuple[str, Any]] = []
    for name, info in model.model_fields.items():
        if is_event and name == "type":
            continue  # the union's tag
        owner = next((b for b in model.__mro__ if (b, name) in _FIELD_CHECKS), model)
        ftype = _fast_type(info.annotation, list(info.metadata), owner, name)
        d = _default(info)
        fields.append((name, ftype, d["default"]) if d else (name, ftype))
    if is_event:
        tag = model.model_fields["type"].default
        cls = msgspec.defstruct(
            model.__name__, fields, bases=(_EventStruct,), tag_field="type", tag=tag, kw_only=True, gc=False
        )
        cls.type = tag  # type: ignore[attr-defined]
    else:
        # Frozen like the models; the event structs are not, as ``decode`` replaces their datetime texts.
        cls = msgspec.defstruct(model.__name__, fields, kw_only=True, gc=False, frozen=True)
    _STRUCTS[model] = cls
    return cls


_DECODER = msgspec.json.Decoder(Union[tuple(_struct(m) for m in ALL_EVENTS)])  # noqa: UP007
_ENCODER = msgspec.json.Encoder()
_datetime = datetime.fromisoformat

FastEvent = Any  # a generated struct: same attribute names as the model it comes from


def decode(raw: bytes, *, screened: bool = False) -> FastEvent | None:
    """The event, or None when pydantic must decide (a refusal, or a spelling the fast path avoids).

    ``screened``: the caller found none of ``STEP_ASIDE_TRIGGERS`` in ``raw``."""
    return decode_many([raw], [screened])[0]


def decode_many(raws: Sequence[bytes], screened: Sequence[bool]) -> list[FastEvent | None]:
    """``decode`` for a batch (``screened`` per payload)."""
    events = [_decode_one(raw, ok) for raw, ok in zip(raws, screened, strict=True)]
    present = [e for e in events if e is not None]
    if not present:
        return events
    good = None
    for name, pattern in _TEXT_CHECKED.items():
        texts = pa.array([getattr(e, name) for e in present], pa.string())
        matched = pc.match_substring_regex(texts, pattern)
        matched = pc.fill_null(matched, True)  # an absent optional datetime
        good = matched if good is None else pc.and_(good, matched)
    ok = iter(cast(pa.BooleanArray, good).to_pylist())
    return [_with_datetimes(e) if e is not None and next(ok) else None for e in events]


def _decode_one(raw: bytes, screened: bool) -> FastEvent | None:
    if len(raw) > MAX_EVENT_BYTES or (not screened and _steps_aside(raw)):
        return None
    try:
        event = _DECODER.decode(raw)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None
    if event.channel == "store" and not event.context.store_id:
        return None
    return event


def _with_datetimes(event: FastEvent) -> FastEvent | None:
    try:  # a 30 February matches the pattern; fromisoformat refuses it
        event.occurred_at = _datetime(event.occurred_at)
        if event.sent_at is not None:
            event.sent_at = _datetime(event.sent_at)
        if event.received_at is not None:
            event.received_at = _datetime(event.received_at)
    except ValueError:
        return None
    return event


def encode_properties(props: msgspec.Struct) -> str:
    """Properties as pydantic's ``model_dump_json`` writes them (same field order, nulls kept)."""
    return _ENCODER.encode(props).decode()
