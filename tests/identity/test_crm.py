"""Reading CRM exports as spreadsheets and CRMs write them, and what each record links."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from streams.identity.crm import CrmFileError, crm_links, read_records
from streams.identity.pii import hash_email

PEP = "pep"


def _load(path: Path) -> tuple[list[tuple[int, dict[str, object] | None, str]], object]:
    records = list(read_records(path))
    return records, crm_links(iter(records), PEP)


def test_spreadsheet_csv_bom_semicolons_and_header_case(tmp_path: Path) -> None:
    f = tmp_path / "crm.csv"
    # a semicolon file: several cards in one field are quoted, as spreadsheets write them
    f.write_bytes('\ufeffCRM_ID;Email;Loyalty_IDs\r\ncrm-1;Ana@Example.org;"L-1;L-2"\r\n'.encode())
    records, load = _load(f)
    assert records == [(2, {"crm_id": "crm-1", "email": "Ana@Example.org", "loyalty_ids": "L-1;L-2"}, "")]
    ids = {i for g in load.links.groups for i in g.identifiers}  # type: ignore[attr-defined]
    assert ids == {"crm:crm-1", "loyalty:L-1", "loyalty:L-2", f"email:{hash_email('ana@example.org', PEP)}"}


def test_csv_line_numbers_extra_fields_and_unknown_columns(tmp_path: Path) -> None:
    f = tmp_path / "crm.csv"
    f.write_text('crm_id,email\n\ncrm-1,"a\nb@example.org"\ncrm-2,c@example.org,extra,cols\ncrm-3,\n')
    records, load = _load(f)
    assert [(n, why) for n, _, why in records] == [(4, ""), (5, "2 more fields than the header names"), (6, "")]
    assert load.refused == [(5, "2 more fields than the header names")]  # type: ignore[attr-defined]
    bad = tmp_path / "bad.csv"
    bad.write_text("crm_id,segment\ncrm-1,\n")
    with pytest.raises(CrmFileError, match=r"unknown columns segment; known: .*crm_id"):
        list(read_records(bad))


def test_json_arrays_numbers_duplicates_and_ids_that_are_emails(tmp_path: Path) -> None:
    f = tmp_path / "crm.json"
    f.write_bytes(
        orjson.dumps(
            [
                {"crm_id": 702, "phone": "+33 6 11 22 33 44"},
                {"crm_id": "Isabelle.Roux@Example.org", "social": ["instagram:julie@example.org"]},
                {"crm_id": 702, "email": "x@example.org"},
            ],
            option=orjson.OPT_INDENT_2,
        )
    )
    records, load = _load(f)
    assert [n for n, _, _ in records] == [1, 2, 3] and load.refused == []  # type: ignore[attr-defined]
    assert load.repeated == 1  # type: ignore[attr-defined]
    text = orjson.dumps([g.identifiers for g in load.links.groups]).decode()  # type: ignore[attr-defined]
    assert "crm:702" in text
    assert "roux@example.org" not in text.lower() and "julie@example.org" not in text.lower()
    assert "email_sha256:" in text  # hashed as events hash an e-mail used as an id


def test_an_unknown_format_is_named(tmp_path: Path) -> None:
    f = tmp_path / "crm.txt"
    f.write_text("x")
    with pytest.raises(CrmFileError, match=r"\.csv, \.jsonl or a \.json array"):
        list(read_records(f))


def test_placeholder_emails_and_phones_link_nothing(tmp_path: Path) -> None:
    """A CRM record is verified evidence: a placeholder e-mail on three records would make it an
    anchor that pulls in every visitor who typed it. Refused, as in events."""
    f = tmp_path / "crm.jsonl"
    f.write_bytes(
        b'{"crm_id": "c-1", "email": "TEST@test.com", "phone": "00 00 00 00 00"}\n'
        b'{"crm_id": "c-2", "email": " test@test.com "}\n'
        b'{"crm_id": "c-3", "email": "real@example.org"}\n'
    )
    _, load = _load(f)
    linked = {i for g in load.links.groups for i in g.identifiers}  # type: ignore[attr-defined]
    refused = {r for g in load.links.groups for r in g.refused}  # type: ignore[attr-defined]
    assert f"email:{hash_email('test@test.com', PEP)}" not in linked
    assert (f"email:{hash_email('test@test.com', PEP)}", "refused_junk") in refused
    assert f"email:{hash_email('real@example.org', PEP)}" in linked
    assert not any(i.startswith("phone:") for i in linked)
