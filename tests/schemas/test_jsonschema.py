from __future__ import annotations

import json

from schemas.events import EVENT_TYPES
from schemas.export import OUT, rendered


def test_exported_files_match_the_models() -> None:
    files = rendered()
    on_disk = {p.name: p.read_text() for p in OUT.glob("*.schema.json")}
    assert set(on_disk) == set(files), "run `make schemas`"
    for name, text in files.items():
        assert on_disk[name] == text, f"{name} is stale: run `make schemas`"


def test_one_schema_per_type_plus_the_union() -> None:
    files = rendered()
    assert len(files) == len(EVENT_TYPES) + 1
    union = json.loads(files["event.schema.json"])
    assert union["discriminator"]["propertyName"] == "type"
    order = json.loads(files["order_completed.schema.json"])
    assert "event_id" in order["required"] and "properties" in order["required"]
