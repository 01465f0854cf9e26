from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.errors import ConfigError
from streams.settings import Settings


def test_secrets_never_show_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARCOURS_PII_PEPPER", "pepper-very-secret")
    monkeypatch.setenv("PARCOURS_KAFKA_SASL_PASSWORD", "sasl-very-secret")
    monkeypatch.setenv("PARCOURS_CLICKHOUSE_URL", "clickhouse://u:ch-very-secret@host:9000/db")
    monkeypatch.setenv("PARCOURS_WRITE_KEYS", '{"web": "wk-very-secret"}')
    s = Settings()
    text = repr(s) + str(s.model_dump())
    for secret in ("pepper-very-secret", "sasl-very-secret", "ch-very-secret", "wk-very-secret"):
        assert secret not in text
    assert s.pepper() == "pepper-very-secret"
    assert s.write_keys["web"].get_secret_value() == "wk-very-secret"


def test_secrets_from_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    f = tmp_path / "pepper"
    f.write_text("from-a-file\n")
    monkeypatch.delenv("PARCOURS_PII_PEPPER", raising=False)  # the suite's own (tests/conftest.py)
    monkeypatch.setenv("PARCOURS_PII_PEPPER_FILE", str(f))
    assert Settings().pepper() == "from-a-file"


def test_no_pepper_means_no_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARCOURS_PII_PEPPER", raising=False)
    with pytest.raises(ConfigError, match=r"PARCOURS_PII_PEPPER .* is not set"):
        Settings().pepper()
    with pytest.raises(ConfigError, match="PARCOURS_PII_PEPPER"):
        Settings(pii_pepper="").pepper()


def test_settings_are_frozen_and_validated() -> None:
    s = Settings()
    with pytest.raises(ValidationError):
        s.batch_size = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Settings(batch_size=0)


def test_kafka_security_settings_pass_through() -> None:
    from streams.kafka import kafka_python_kwargs

    s = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="u",
        kafka_sasl_password="p",
    )  # type: ignore[arg-type]
    kw = kafka_python_kwargs(s)
    assert kw["security_protocol"] == "SASL_SSL" and kw["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kw["sasl_plain_password"] == "p"


def test_retention_ttl_is_applied(tmp_path: Path) -> None:
    from streams.store.backend import ChdbBackend
    from streams.store.migrations import migrate

    b = ChdbBackend(tmp_path / "ch")
    migrate(b, retention_days=90)
    [row] = b.query(
        "SELECT create_table_query AS q FROM system.tables WHERE name = 'events' AND database = currentDatabase()"
    )
    assert "TTL toDateTime(event_time) + toIntervalDay(90)" in row["q"]
    b.close()


def test_stages_are_comma_separated_and_a_subset_needs_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.topics import agents_group

    assert Settings().stages == ("ingest", "dead_letters", "identity")
    monkeypatch.setenv("PARCOURS_CLICKHOUSE_URL", "clickhouse://u:p@host:9000/db")
    monkeypatch.setenv("PARCOURS_STAGES", " identity , identity")
    assert Settings().stages == ("identity",)
    for bad in ("identity,nope", " , "):
        monkeypatch.setenv("PARCOURS_STAGES", bad)
        with pytest.raises(ValidationError):
            Settings()
    monkeypatch.delenv("PARCOURS_CLICKHOUSE_URL")
    monkeypatch.setenv("PARCOURS_STAGES", "ingest,dead_letters")
    with pytest.raises(ValidationError, match="needs a ClickHouse server"):
        Settings()
    # workers running different agents never share a group (Faust would hand them each other's topics)
    groups = {agents_group("g", s) for s in (("ingest", "dead_letters", "identity"), ("dead_letters",), ("identity",))}
    assert groups == {"g", "g.dead_letters", "g.identity"}
    assert agents_group("g", ("ingest",)) == "g.no-agents"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PARCOURS_STAGES", "ingest,nope", "PARCOURS_STAGES: Input should be 'ingest', 'dead_letters' or 'identity'"),
        ("PARCOURS_WRITE_KEYS", "{web: k-1}", "PARCOURS_WRITE_KEYS: not valid JSON (Expecting property name"),
        ("PARCOURS_WRITE_KEYS", '{"web": 5}', "PARCOURS_WRITE_KEYS[web]: Input should be a valid string"),
        ("PARCOURS_WRITE_KEYS", '["k-web"]', "PARCOURS_WRITE_KEYS: Input should be a valid dictionary"),
        ("PARCOURS_WRITE_KEYS", '{"x y": "k"}', "write key 'x y' names no channel family"),
        ("PARCOURS_WEB_PORT", "99999", "PARCOURS_WEB_PORT: Input should be less than or equal to 65535"),
    ],
)
def test_the_cli_names_a_bad_setting_in_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    from click.testing import CliRunner

    from streams.cli import main
    from streams.settings import get_settings

    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["worker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output  # a usage error, as click's own
    assert result.output.startswith("error: invalid settings: " + says), result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_every_setting_is_documented_and_the_reference_pages_are_current() -> None:
    from streams.reference import DOCS, PAGES

    assert all(f.description for f in Settings.model_fields.values()), "every setting says what it is for"
    for name, page in PAGES.items():
        assert (DOCS / name).read_text() == page(), f"docs/{name} is stale: run `make schemas`"
