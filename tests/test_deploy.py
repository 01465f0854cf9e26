"""docker-compose cannot run here; keep it consistent with the tested configuration."""

from __future__ import annotations

import re
from pathlib import Path

from streams.grafana.render import DATASOURCE_UID, GRAFANA_VERSION, PLUGIN_TYPE, PLUGIN_VERSION
from streams.settings import ALL_STAGES, Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = (ROOT / "deploy" / "docker-compose.yml").read_text()


def test_compose_runs_the_tested_versions() -> None:
    pom = (ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    kafka = re.search(r"<kafka.version>([\d.]+)</kafka.version>", pom)
    assert kafka and f"apache/kafka:{kafka.group(1)}" in COMPOSE
    assert f"grafana/grafana:{GRAFANA_VERSION}" in COMPOSE
    assert f"{PLUGIN_TYPE} {PLUGIN_VERSION}" in COMPOSE


def test_compose_environment_names_real_settings() -> None:
    fields = {f"PARCOURS_{name.upper()}" for name in Settings.model_fields}
    used = set(re.findall(r"\b(PARCOURS_[A-Z_]+):", COMPOSE))
    assert used and used <= fields, used - fields


def test_compose_holds_no_secret_values() -> None:
    for line in COMPOSE.splitlines():
        if re.search(r"PASSWORD|PEPPER|TOKEN", line) and ":" in line and "${" not in line:
            assert line.strip().startswith("#") or line.strip().endswith(("_USER: parcours_grafana",)), line


def test_provisioning_matches_dashboards() -> None:
    ds = (ROOT / "dashboards" / "provisioning" / "datasources" / "clickhouse.yaml").read_text()
    assert f"uid: {DATASOURCE_UID}" in ds
    prov = (ROOT / "dashboards" / "provisioning" / "dashboards" / "parcours.yaml").read_text()
    assert "/var/lib/grafana/dashboards/parcours" in prov
    # only the rendered dashboards are mounted: Grafana would try every JSON file under the path
    [mount] = re.findall(r"- (\S+):/var/lib/grafana/dashboards/parcours", COMPOSE)
    folder = (ROOT / "deploy" / mount).resolve()
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in folder.glob("parcours-*.json"))


def test_k8s_manifests_name_real_settings() -> None:
    fields = {f"PARCOURS_{name.upper()}" for name in Settings.model_fields}
    files = ("configmap.yaml", "secret.env.example", "worker.yaml")
    text = "".join((ROOT / "deploy" / "k8s" / f).read_text() for f in files)
    used = set(re.findall(r"\b(PARCOURS_[A-Z_]+)[:=,]", text))
    assert used and used <= fields, used - fields


def test_every_stage_runs_somewhere_in_each_deployment() -> None:
    k8s = (ROOT / "deploy" / "k8s" / "worker.yaml").read_text()
    for text in (COMPOSE, k8s):
        found = re.findall(r"PARCOURS_STAGES(?::|, value:) \"?([a-z_,]+)", text)
        stages = [s for value in found for s in value.split(",")]
        assert len(found) == 2 and sorted(stages) == sorted(ALL_STAGES), found  # each once, none missing


def test_cluster_ddl_is_generated_from_the_single_node_files() -> None:
    from streams.store.cluster import OUT, rendered
    from streams.store.migrations import sql_files

    files = rendered()
    assert set(files) == {p.name for p in sql_files()}
    for name, text in files.items():
        assert (OUT / name).read_text() == text, f"{name} is stale: run `python -m streams.store.cluster`"
    single = (ROOT / "schemas" / "clickhouse" / "001_events.sql").read_text()
    cluster = files["001_events.sql"]
    for column in re.findall(r"^\s{4}(\w+)\s", single, re.M):
        assert f"    {column} " in cluster
    assert (
        "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/events', '{replica}', ingested_at)"
        in cluster
    )
    assert "Distributed('{cluster}', currentDatabase(), events_local, cityHash64(event_id))" in cluster


def test_install_says_which_step_runs_and_how_long_it_took(tmp_path: Path) -> None:
    """``make install``'s steps, each named with its time, and a failing one named as failing. A
    stand-in interpreter whose pip takes a second keeps this off the real two-minute build."""
    import subprocess

    fake = tmp_path / "python"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        '[ "$1 $2" = "-m venv" ] || exit 9\n'
        'mkdir -p "$3/bin" && printf \'#!/usr/bin/env bash\\nsleep 1\\necho "  BuildBackendWarning: Editable '
        'installation." >&2\\necho "WARNING: pip says" >&2\\n[ -z "$FAIL_PIP" ]\\n\' > "$3/bin/pip"\n'
        'chmod +x "$3/bin/pip"\n'
    )
    fake.chmod(0o755)
    script = str(ROOT / "deploy" / "install.sh")
    ok = subprocess.run(["bash", script, "python", str(fake), str(tmp_path / "venv")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    done = re.findall(r"^install: (.+) done in (\d+) s$", ok.stdout, re.M)
    assert [label.split(" ")[0] for label, _ in done] == ["virtualenv", "pip", "Parcours,"]
    assert all(int(s) >= 1 for label, s in done[1:])  # each pip step's second is counted
    assert "BuildBackendWarning" not in ok.stdout + ok.stderr  # a backend's banner is noise on success
    assert ok.stdout.count("WARNING: pip says") == 2  # pip's own warnings are not
    bad = subprocess.run(
        ["bash", script, "python", str(fake), str(tmp_path / "venv2")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "FAIL_PIP": "1"},
    )
    assert bad.returncode == 1 and bad.stderr.strip().endswith("install: pip failed (see the output above)")
    assert "BuildBackendWarning" in bad.stderr  # on failure, everything the step said
