"""Grafana: dashboards as code (``spec``), rendering to JSON under ``dashboards/``, the
ClickHouse plugin's macro expansion (``macros``, used by tests to run every panel's SQL),
and pushing to a running Grafana (``push``)."""
