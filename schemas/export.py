"""Export JSON Schema files for producers in other languages: ``python -m schemas.export``.

One file per event type plus ``event.schema.json`` (any event, discriminated by ``type``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from schemas.events import ALL_EVENTS, SCHEMA_VERSION, AnyEvent

OUT = Path(__file__).parent / "jsonschema"


def rendered() -> dict[str, str]:
    """File name → JSON text, exactly as written to disk."""
    files: dict[str, Any] = {}
    for cls in ALL_EVENTS:
        name = cls.model_fields["type"].default
        schema = cls.model_json_schema(mode="validation")
        schema["$id"] = f"https://parcours.dev/schemas/v{SCHEMA_VERSION}/{name}.schema.json"
        files[f"{name}.schema.json"] = schema
    union = TypeAdapter(AnyEvent).json_schema(mode="validation")
    union["$id"] = f"https://parcours.dev/schemas/v{SCHEMA_VERSION}/event.schema.json"
    union["title"] = "Parcours event"
    files["event.schema.json"] = union
    return {name: json.dumps(schema, indent=2, sort_keys=True) + "\n" for name, schema in files.items()}


def write_generated(out: Path, files: dict[str, str], pattern: str) -> None:
    """Write generated files into ``out``, removing files matching ``pattern`` that are no
    longer generated (a renamed model or dashboard leaves nothing stale behind)."""
    out.mkdir(exist_ok=True)
    for stale in out.glob(pattern):
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        (out / name).write_text(text)
    print(f"wrote {len(files)} files to {out}")


def main() -> int:
    write_generated(OUT, rendered(), "*.schema.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
