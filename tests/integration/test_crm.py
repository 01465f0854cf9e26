"""`parcours load crm` on a real broker and worker: a till sale that carries only a loyalty card
is linked, through the CRM record, to the customer's online history; a record without analytics
consent links nothing; a bad line is named and the command fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.identity.pii import hash_email
from streams.ingest.publisher import Publisher
from tests.integration.conftest import Stack, ev

pytestmark = pytest.mark.integration


def person(stack: Stack, identifier: str) -> str:
    rows = stack.rows("SELECT person_id FROM identity_current WHERE identifier = {i:String}", i=identifier)
    return str(rows[0]["person_id"]) if rows else ""


def test_a_crm_record_links_the_till_to_the_web(stack: Stack, tmp_path: Path) -> None:
    pepper = stack.settings.pepper()
    with Publisher(stack.settings) as pub:
        # online: the customer logs in with her e-mail; in store: only her card
        pub.publish(ev("login", {"anonymous_id": "ck-crm-1", "email": "Jane.CRM@Example.com"}))
        pub.publish(
            ev(
                "pos_purchase",
                {"loyalty_id": "LOY-CRM-1"},
                context={"store_id": "paris-01", "device_kind": "pos"},
                properties={"order_id": "o-crm-1", "revenue": 80.0, "currency": "EUR", "skus": ["s"]},
            )
        )
        pub.publish(
            ev(
                "pos_purchase",
                {"loyalty_id": "LOY-CRM-2"},
                context={"store_id": "paris-01", "device_kind": "pos"},
                properties={"order_id": "o-2", "revenue": 5.0, "currency": "EUR", "skus": ["s"]},
            )
        )
        pub.publish(ev("login", {"anonymous_id": "ck-crm-2", "user_id": "crm-2"}))
    stack.wait()
    assert person(stack, "loyalty:LOY-CRM-1") != person(stack, "anon:ck-crm-1")
    csv = tmp_path / "crm.csv"
    csv.write_text(
        "crm_id,loyalty_ids,email,phone,social,consent_analytics\n"
        "crm-1,LOY-CRM-1,jane.crm@example.com,+33 6 00 11 22 33,instagram:jane_crm,true\n"
        "crm-2,LOY-CRM-2,,,,false\n"
    )
    out = stack.cli("load", "crm", str(csv))
    assert out.returncode == 0, out.stderr
    assert "1 of 2 records sent" in out.stdout and "1 without analytics consent" in out.stdout
    assert "jane.crm@example.com" not in out.stdout + out.stderr
    stack.wait()
    jane = person(stack, "crm:crm-1")
    assert jane and jane == person(stack, "loyalty:LOY-CRM-1") == person(stack, "anon:ck-crm-1")
    assert person(stack, f"email:{hash_email('jane.crm@example.com', pepper)}") == jane
    # no consent: the card and the account stay apart
    assert person(stack, "loyalty:LOY-CRM-2") != person(stack, "crm:crm-2")
    stored = "\n".join(str(r) for r in stack.rows("SELECT * FROM identity_links"))
    assert "jane.crm@example.com" not in stored and "+33 6 00 11 22 33" not in stored


def test_a_bad_crm_file_names_its_lines_and_fails(stack: Stack, tmp_path: Path) -> None:
    bad = tmp_path / "crm.jsonl"
    bad.write_text('{"crm_id": "crm-ok"}\nnot json\n{"loyalty_ids": ["x"]}\n{"crm_id": "c", "colour": "red"}\n')
    out = stack.cli("load", "crm", str(bad))
    assert out.returncode == 1
    assert "line 2: not JSON" in out.stderr and "line 3: crm_id" in out.stderr and "line 4: colour" in out.stderr
    assert "3 records refused" in out.stderr and "Traceback" not in out.stderr
    wrong = tmp_path / "crm.txt"
    wrong.write_text("x")
    out = stack.cli("load", "crm", str(wrong))
    assert out.returncode == 1 and "a CRM export is .csv, .jsonl or a .json array" in out.stderr
