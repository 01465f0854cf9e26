"""Render ``spec`` to Grafana dashboard JSON (``python -m streams.grafana.render`` or
``make dashboards``); a test fails when ``dashboards/*.json`` is stale."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from streams.grafana.spec import DASHBOARDS, Dashboard, Panel, Variable

OUT = Path(__file__).resolve().parents[2] / "dashboards" / "grafana"  # only dashboards: Grafana scans it all
SCHEMA_VERSION = 41  # Grafana 12.x
# Pinned together: the plugin 4.20 needs Grafana >= 11.6 (its plugin.json); deploy/docker-compose.yml runs these.
GRAFANA_VERSION = "12.1.1"
PLUGIN_TYPE = "grafana-clickhouse-datasource"
PLUGIN_VERSION = "4.20.0"
DATASOURCE_UID = "parcours-clickhouse"  # the provisioned one: the datasource variable's default
DATASOURCE_VARIABLE = "datasource"
# Panels name the datasource through a variable: a Grafana whose ClickHouse datasource has another uid works.
DATASOURCE = {"type": PLUGIN_TYPE, "uid": "${" + DATASOURCE_VARIABLE + "}"}
TIMESERIES = frozenset({"timeseries"})


def _target(p: Panel) -> dict[str, Any]:
    series = p.kind in TIMESERIES
    return {
        "refId": "A",
        "datasource": DATASOURCE,
        "editorType": "sql",
        "rawSql": p.sql,
        "format": 0 if series else 1,
        "queryType": "timeseries" if series else "table",
        "pluginVersion": PLUGIN_VERSION,
    }


def _options(p: Panel) -> dict[str, Any]:
    if p.kind == "stat":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "none",
            "textMode": "auto",
        }
    if p.kind == "barchart":
        return {
            "orientation": "horizontal",
            "showValue": "auto",
            "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom"},
        }
    if p.kind == "piechart":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": True},
            "pieType": "donut",
            "legend": {"showLegend": True, "displayMode": "table", "placement": "right", "values": ["value"]},
        }
    if p.kind == "timeseries":
        return {
            "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom"},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    return {"showHeader": True, "cellHeight": "sm"}


def _panels(d: Dashboard) -> list[dict[str, Any]]:
    out, x, y, row_h = [], 0, 0, 0
    for i, p in enumerate(d.panels, start=1):
        if x + p.width > 24:
            x, y, row_h = 0, y + row_h, 0
        out.append(
            {
                "id": i,
                "type": p.kind,
                "title": p.title,
                "description": p.description,
                "gridPos": {"x": x, "y": y, "w": p.width, "h": p.height},
                "datasource": DATASOURCE,
                "targets": [_target(p)],
                "fieldConfig": {
                    "defaults": {"unit": p.unit},
                    "overrides": [
                        {"matcher": {"id": "byName", "options": col}, "properties": [{"id": "unit", "value": unit}]}
                        for col, unit in p.field_units
                    ],
                },
                "options": _options(p),
            }
        )
        x += p.width
        row_h = max(row_h, p.height)
    return out


def _variable(v: Variable) -> dict[str, Any]:
    all_current = {"selected": True, "text": ["All"], "value": ["$__all"]}
    one = {"selected": True, "text": v.default, "value": v.default}
    current = all_current if v.default == "$__all" else one
    base = {
        "name": v.name,
        "label": v.label,
        "multi": v.multi,
        "includeAll": v.include_all,
        "current": current,
        "hide": 0,
        "skipUrlSync": False,
    }
    if v.query:
        return {
            **base,
            "type": "query",
            "datasource": DATASOURCE,
            "definition": v.query,
            "query": v.query,
            "refresh": 1,  # on load: a time-range change rescanned the events table for options
            "sort": 1,
            "options": [],
            "regex": "",
        }
    return {
        **base,
        "type": "custom",
        "query": ",".join(v.options),
        "options": [{"selected": o == v.default, "text": o, "value": o} for o in v.options],
    }


def _datasource_variable() -> dict[str, Any]:
    return {
        "name": DATASOURCE_VARIABLE,
        "label": "ClickHouse",
        "type": "datasource",
        "query": PLUGIN_TYPE,
        "current": {"selected": True, "text": "Parcours ClickHouse", "value": DATASOURCE_UID},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "refresh": 1,
        "regex": "",
        "skipUrlSync": False,
        "options": [],
    }


def render(d: Dashboard) -> dict[str, Any]:
    return {
        "uid": d.uid,
        "title": d.title,
        "description": d.description,
        "tags": list(d.tags),
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "time": {"from": d.default_range, "to": "now"},
        "refresh": "1m",
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {"list": [_datasource_variable(), *(_variable(v) for v in d.variables)]},
        "panels": _panels(d),
    }


def rendered() -> dict[str, str]:
    return {f"{d.uid}.json": json.dumps(render(d), indent=2, ensure_ascii=False) + "\n" for d in DASHBOARDS}


def main() -> int:
    from schemas.export import write_generated

    write_generated(OUT, rendered(), "parcours-*.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
