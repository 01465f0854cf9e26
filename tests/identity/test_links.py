"""Links as columns: the wire form, the old wire form, and the identity stage linking each distinct
group once per chunk with the same results as linking every event."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.identity.erasure import control_message
from streams.identity.identifiers import Extracted
from streams.identity.links import LINKS_FORMAT, MAX_MESSAGE_BYTES, Links, parse_message
from streams.identity.stage import IdentityStage
from streams.settings import Settings
from streams.store.backend import ChdbBackend
from streams.store.migrations import migrate


def _links() -> Links:
    a = Extracted(("crm:alice", "anon:a"), (), "crm:alice")
    b = Extracted(("anon:b",), (("device:mirror", "refused_shared_device"),), None)
    return Links(
        [a, b],
        [0, 1, 0],
        ["e1", "e2", "e3"],
        [1_772_452_800_000_000, 1_772_452_800_123_456, 1_772_452_801_000_000],
        [False, False, True],
    )


def test_messages_round_trip_and_read_as_link_objects() -> None:
    links = _links()
    [raw] = links.messages()
    assert orjson.loads(raw)["format"] == LINKS_FORMAT
    back = parse_message(raw)
    assert isinstance(back, Links)
    assert back.dicts() == links.dicts()
    assert links.dicts()[1] == {
        "event_id": "e2",
        "identifiers": ["anon:b"],
        "refused": [["device:mirror", "refused_shared_device"]],
        "verified_crm": None,
        "event_time": "2026-03-02T12:00:00.123456+00:00",
        "conversion": False,
    }


def test_chunks_carry_only_their_groups_and_split_oversized_messages() -> None:
    links = _links()
    parts = [parse_message(m) for m in links.messages(per_message=1)]
    assert [len(p.groups) for p in parts if isinstance(p, Links)] == [1, 1, 1]
    assert [d for p in parts if isinstance(p, Links) for d in p.dicts()] == links.dicts()
    # Identifiers near their length limit: one chunk of 500 would pass the broker's message limit.
    n = 500
    long = Links(
        [Extracted(tuple(f"anon:{i:03d}{k}{'😀' * 124}" for k in "abcdefg"), (), None) for i in range(n)],
        list(range(n)),
        [f"e{i}" for i in range(n)],
        [0] * n,
        [False] * n,
    )
    messages = long.messages()
    assert len(messages) > 1 and all(len(m) <= MAX_MESSAGE_BYTES for m in messages)
    assert sum(len(p) for m in messages if isinstance(p := parse_message(m), Links)) == n


def test_the_old_wire_form_and_controls_are_read() -> None:
    old = _links().dicts()
    one = parse_message(orjson.dumps(old))
    assert isinstance(one, Links) and one.dicts() == old and len(one.groups) == 2  # identical groups shared
    single = parse_message(orjson.dumps(old[0]))
    assert isinstance(single, Links) and single.dicts() == old[:1]
    control = control_message("anon:a", "er1")
    assert parse_message(orjson.dumps(control)) == control


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"42",
        orjson.dumps([{"event_id": "e1"}]),  # the old form without its identifiers
        orjson.dumps(
            {
                "format": LINKS_FORMAT,
                "groups": [[[1, 2], [], None]],
                "group": [0],
                "event_id": ["e"],
                "event_time_us": [0],
                "conversion": [0],
            }
        ),
        orjson.dumps(
            {
                "format": LINKS_FORMAT,
                "groups": [[1]],
                "group": [0],
                "event_id": ["e"],
                "event_time_us": [0],
                "conversion": [0],
            }
        ),
        orjson.dumps({"format": LINKS_FORMAT, "groups": [], "group": [0], "event_id": ["e"], "event_time_us": [0]}),
        orjson.dumps(
            {
                "format": LINKS_FORMAT,
                "groups": [],
                "group": [3],
                "event_id": ["e"],
                "event_time_us": [0],
                "conversion": [0],
            }
        ),
        orjson.dumps(
            {
                "format": LINKS_FORMAT,
                "groups": [],
                "group": [0, 1],
                "event_id": ["e"],
                "event_time_us": [0],
                "conversion": [0],
            }
        ),
    ],
)
def test_a_malformed_message_is_refused_clearly(raw: bytes) -> None:
    with pytest.raises(ValueError, match=r"^links message: "):
        parse_message(raw)


def test_without_and_extend_keep_groups_consistent() -> None:
    links = _links()
    both = Links()
    both.extend(links)
    both.extend(links.without({"e1"}))
    assert [d["event_id"] for d in both.dicts()] == ["e1", "e2", "e3", "e2", "e3"]
    assert both.dicts()[3:] == links.dicts()[1:]


def _dump(ch: ChdbBackend) -> tuple[list[Any], list[Any]]:
    maps = ch.query(
        "SELECT identifier, argMax(person_id, version) AS p, argMax(verified, version) AS v, "
        "argMax(via_event, version) AS via, argMax(rule, version) AS rule FROM identity_map "
        "GROUP BY identifier ORDER BY identifier"
    )
    decisions = ch.query(
        "SELECT event_id, identifier_a, identifier_b, decision, person_id, toString(event_time) AS t "
        "FROM identity_links ORDER BY ALL"
    )
    return maps, decisions


def test_linking_each_group_once_equals_linking_every_event(tmp_path: Path) -> None:
    """Random persons whose events repeat identity groups, with caps hit, verified CRM conflicts
    and refusals: one chunk (groups shared) against one link per part (nothing shared)."""
    rng = random.Random(7)
    settings = Settings(max_ids_per_type=3)
    pool = [f"anon:{i}" for i in range(40)] + [f"crm:{i}" for i in range(8)] + [f"email:{i}" for i in range(10)]
    groups = []
    for _ in range(60):
        ids = tuple(dict.fromkeys(rng.sample(pool, rng.randint(1, 4))))
        crm = next((i for i in ids if i.startswith("crm:")), None) if rng.random() < 0.5 else None
        refused = (("device:shared", "refused_shared_device"),) if rng.random() < 0.2 else ()
        groups.append(Extracted(ids, refused, crm))
    n = 600
    group = [rng.randrange(len(groups)) for _ in range(n)]
    links = Links(
        groups, group, [f"e{i:04d}" for i in range(n)], [1_772_452_800_000_000 + i for i in range(n)], [False] * n
    )
    results = []
    for name, parts in (("shared", [links]), ("each", [links.take([i]) for i in range(n)])):
        ch = ChdbBackend(tmp_path / name)
        migrate(ch)
        IdentityStage(settings, ch).process(parts)
        results.append(_dump(ch))
        ch.close()  # one chDB path per process at a time
    (maps_a, dec_a), (maps_b, dec_b) = results
    assert maps_a == maps_b
    # splits after verified CRM conflicts happen once a part: per event here, once per chunk there
    linked = [[d for d in dec if not d["decision"].startswith("split_")] for dec in (dec_a, dec_b)]
    assert linked[0] == linked[1]
    kinds = {d["decision"] for d in dec_a}
    assert {"merged", "refused_cap", "refused_shared_device"} <= kinds, kinds


def test_an_erasure_between_chunks_is_applied_in_order(tmp_path: Path, settings: Settings) -> None:
    ch = ChdbBackend(tmp_path / "ch")
    migrate(ch)
    stage = IdentityStage(settings, ch)
    first = Links([Extracted(("anon:x", "email:x"), (), None)], [0], ["e1"], [1_772_452_800_000_000], [False])
    later = Links([Extracted(("anon:x", "email:x"), (), None)], [0], ["e2"], [1_772_452_900_000_000], [False])
    stage.process([first, control_message("email:x", "er1"), later])
    maps, decisions = _dump(ch)
    ch.close()
    # Forgotten, then seen again: the second event links the pair afresh (e2 decides the merge).
    assert [(d["event_id"], d["decision"]) for d in decisions] == [("e2", "merged")]
    assert {m["identifier"] for m in maps} == {"anon:x", "email:x"}
