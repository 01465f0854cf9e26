from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.attribution.paths import PathTableError, attribute_paths, read_path_table
from streams.attribution.validate import validate
from streams.cli import main


@pytest.fixture
def table(tmp_path: Path) -> Path:
    f = tmp_path / "paths.csv"
    f.write_text("path;total_conversions;total_conversion_value;total_null\nA | B;1;10;0\nA;0;0;1\n B ;1;5;0\n")
    return f


def test_reads_delimiters_separators_and_trims(table: Path) -> None:
    rows = read_path_table(table, delimiter=";", sep="|")
    assert [r.path for r in rows] == [("A", "B"), ("A",), ("B",)]
    assert rows[0].value == 10 and rows[1].nulls == 1


def test_cli_json_has_every_model_and_conserves_totals(table: Path) -> None:
    out = CliRunner().invoke(
        main, ["attribution", "paths", str(table), "--delimiter", ";", "--sep", "|", "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    credits = json.loads(out.output)
    assert {"first_touch", "last_touch", "linear", "position_based", "markov", "shapley"} <= set(credits)
    for model, chans in credits.items():
        if model != "participation":
            assert sum(c["conversions"] for c in chans.values()) == pytest.approx(2), model
            assert sum(c["value"] for c in chans.values()) == pytest.approx(15), model
    assert credits["markov"]["A"]["conversions"] == pytest.approx(2 / 3)
    assert credits["first_touch"]["A"] == {"conversions": 1.0, "value": 10.0}


def test_bad_tables_are_clear_errors(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("route,count\nA,1\n")
    with pytest.raises(PathTableError, match="needs columns"):
        read_path_table(f)
    f.write_text("path,total_conversions\nA,many\n")
    with pytest.raises(PathTableError, match=":2:"):
        read_path_table(f)
    out = CliRunner().invoke(main, ["attribution", "paths", str(f)])
    assert out.exit_code == 1 and "error:" in out.output


def test_time_decay_is_refused_on_path_tables(table: Path) -> None:
    with pytest.raises(PathTableError, match="time_decay"):
        attribute_paths(read_path_table(table, delimiter=";", sep="|"), ["time_decay"])


def test_validation_measures_models_against_incremental_truth() -> None:
    v = validate(persons=300, days=7, seed=5)
    assert sum(v.true_share.values()) == pytest.approx(1.0)
    assert set(v.error) >= {"first_touch", "last_touch", "linear", "markov", "shapley"}
    assert all(0.0 <= e <= 1.0 for e in v.error.values())
    for shares in v.model_share.values():
        assert sum(shares.values()) == pytest.approx(1.0)
