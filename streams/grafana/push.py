"""``parcours dashboards push``: put the dashboards into a running Grafana, idempotently.

Same uid every time, ``overwrite`` on: a push replaces the dashboard and Grafana keeps the
previous one as an older version. Dashboards land in one folder (created if missing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.errors import ConfigError, TransientError
from streams.grafana.render import OUT

FOLDER_UID = "parcours"


class GrafanaUnreachable(TransientError):
    """Grafana did not answer (down, wrong URL, timeout)."""


class GrafanaRefused(ConfigError):
    """Grafana answered but refused: bad token, missing permission, invalid dashboard."""


@dataclass(frozen=True, slots=True)
class Pushed:
    uid: str
    version: int
    url: str


def _dashboards(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("parcours-*.json"))]


def push(url: str, token: str, *, folder_title: str = "Parcours", api: Any = None, source: Path = OUT) -> list[Pushed]:
    from grafana_client import GrafanaApi
    from grafana_client.client import (
        GrafanaClientError,
        GrafanaServerError,
        GrafanaTimeoutError,
        GrafanaUnauthorizedError,
    )

    api = api or GrafanaApi.from_url(url, credential=token, timeout=10.0)
    try:
        try:
            api.folder.get_folder(FOLDER_UID)
        except GrafanaClientError as err:
            if getattr(err, "status_code", None) != 404:
                raise
            api.folder.create_folder(folder_title, uid=FOLDER_UID)
        out = []
        for dash in _dashboards(source):
            dash = {**dash, "id": None}  # let Grafana match on uid
            r = api.dashboard.update_dashboard(
                {"dashboard": dash, "folderUid": FOLDER_UID, "overwrite": True, "message": "parcours dashboards push"}
            )
            out.append(Pushed(dash["uid"], int(r.get("version", 0)), str(r.get("url", ""))))
        return out
    except GrafanaUnauthorizedError as err:
        raise GrafanaRefused(f"Grafana at {url} refused the token (401/403): check PARCOURS_GRAFANA_TOKEN") from err
    except (GrafanaTimeoutError, GrafanaServerError) as err:
        raise GrafanaUnreachable(f"Grafana at {url} did not answer properly: {err}") from err
    except GrafanaClientError as err:
        raise GrafanaRefused(f"Grafana at {url} refused the request: {err}") from err
    except OSError as err:
        raise GrafanaUnreachable(f"cannot reach Grafana at {url}: {err}") from err
