"""The worker's HTTP endpoints (Faust web, aiohttp underneath).

- ``POST /v1/collect``: the collector (write key per source; see ``ingest.collector``).
- ``GET  /v1/health``: store status, outages, counters.
- ``GET  /v1/summary``: the demo's summary, read from the worker's own store.
- ``POST /v1/attribution/run``: a batch attribution run inside the worker (admin token).
- ``POST /v1/load/spend``, ``/v1/load/community``: reference data into the store the worker owns
  (admin token; the body is the CSV or JSON file ``parcours load`` reads).
- ``POST /v1/sql``: read-only SQL for the CLI and tests while the worker owns chDB
  (bearer ``PARCOURS_ADMIN_TOKEN``; disabled when unset). One SELECT, read-only and bounded
  by the engine (``streams.store.guard``).
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

import faust
import orjson
from aiohttp import web
from faust.web import Request, Response, View

from streams import logredact
from streams.attribution.batch import run_batch
from streams.errors import ParcoursError, RefusedQuery
from streams.ingest.body import BodyIncomplete, BodyTooLarge, read_body
from streams.ingest.collector import Collector, bearer
from streams.journeys.taxonomy import Taxonomy
from streams.reports import summary
from streams.runtime import HEALTH
from streams.settings import Settings
from streams.store.backend import Backend
from streams.store.guard import MAX_STATEMENT_CHARS, ReadLimits, read_only_query
from streams.store.reference import ReferenceFileError, load_community, load_spend
from streams.topics import TopicNames

MAX_REFERENCE_BYTES = 20_000_000  # a year of daily spend for hundreds of campaigns is a few MB


def _json(view: View, body: Any, status: int = 200) -> Response:
    return view.bytes(orjson.dumps(body), content_type="application/json", status=status)


def register(
    app: faust.App, settings: Settings, *, backend: Callable[[], Backend], dead_letter_topic: faust.TopicT
) -> None:
    """The views on ``app``; ``backend`` blocks (the store opens on first use): called off the loop."""
    logredact.install()
    names = TopicNames(prefix=settings.topic_prefix)
    collector = Collector(settings)
    raw_topics = {
        ch: app.topic(names.raw(ch), value_type=bytes, key_type=bytes, value_serializer="raw", key_serializer="raw")
        for ch in ("web", "social", "tv", "store")
    }

    @app.page("/v1/collect")
    class Collect(View):
        async def post(self, req: Request) -> Response:
            request = cast(web.Request, req)  # faust's aiohttp driver hands us aiohttp's request
            auth = request.headers.get("Authorization")
            if collector.authenticate(auth) is None:  # before reading a body nobody may send
                return _json(self, {"error": "unauthorized", "message": "missing or unknown write key"}, 401)
            try:
                body = await read_body(request, settings.collector_max_body, settings.collector_read_timeout_s)
            except BodyTooLarge as err:
                return _json(self, {"error": "too_large", "message": str(err)}, 413)
            except BodyIncomplete as err:
                return _json(self, {"error": "malformed", "message": str(err)}, 400)
            except TimeoutError:
                message = f"the body did not arrive whole within {settings.collector_read_timeout_s:g} s"
                return _json(self, {"error": "timeout", "message": message}, 408)
            result = collector.collect(auth, len(body), body)
            if result.status != 200:
                return _json(self, result.body, result.status)
            futures = [
                await raw_topics[o.channel].send(key=o.key, value=o.value, timestamp=o.received_at, force=True)
                for o in result.accepted
            ]
            futures += [
                await dead_letter_topic.send(key=d.dl_id.encode(), value=d.message(), force=True) for d in result.dead
            ]
            await asyncio.gather(*futures)
            return _json(self, result.body, 200)

    @app.page("/v1/health")
    class Health(View):
        async def get(self, request: Request) -> Response:
            snap = HEALTH.snapshot()
            snap["stages"] = list(settings.stages)
            return _json(self, snap, 200 if snap["store_ok"] else 503)

    @app.page("/v1/summary")
    class Summary(View):
        async def get(self, request: Request) -> Response:
            try:
                data = await asyncio.to_thread(lambda: summary(backend()))
            except ParcoursError as err:
                return _json(self, {"error": "store", "message": str(err)[:300]}, 503)
            return _json(self, data)

    def _admin(request: web.Request) -> dict[str, str] | None:
        """None when the request carries the admin token; else the refusal, saying which."""
        token = settings.admin_token.get_secret_value() if settings.admin_token else None
        given = bearer(request.headers.get("Authorization"))
        if not token:
            return {"error": "unauthorized", "message": "this worker has no admin token (PARCOURS_ADMIN_TOKEN)"}
        if given is None:
            return {"error": "unauthorized", "message": "admin token required"}
        if not hmac.compare_digest(given, token.encode()):
            return {"error": "unauthorized", "message": "wrong admin token"}
        return None

    _ADMIN_QUERIES = asyncio.Semaphore(1)

    @app.page("/v1/attribution/run")
    class AttributionRun(View):
        """Batch attribution inside the worker, which owns the embedded store."""

        async def post(self, req: Request) -> Response:
            request = cast(web.Request, req)
            if (refused := _admin(request)) is not None:
                return _json(self, refused, 401)
            try:
                doc = orjson.loads(await read_body(request, 10_000, settings.collector_read_timeout_s))
                start, end = datetime.fromisoformat(doc["start"]), datetime.fromisoformat(doc["end"])
                if start.tzinfo is None or end.tzinfo is None or end <= start:
                    raise ValueError("start and end must be timezone-aware, start < end")
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, TimeoutError, ParcoursError) as err:
                return _json(self, {"error": "malformed", "message": str(err)[:200]}, 400)
            try:
                result = await asyncio.to_thread(run_batch, backend(), settings, start, end)
            except ParcoursError as err:
                return _json(self, {"error": "store", "message": str(err)[:1000]}, 503)
            return _json(
                self,
                {
                    "run_id": result.run_id,
                    "conversions": result.conversions,
                    "null_paths": result.null_paths,
                    "credit_rows": result.credit_rows,
                },
            )

    async def _load(view: View, req: Request, apply: Callable[[Backend, bytes, str], dict[str, int]]) -> Response:
        """Reference data the CLI sends (its file's bytes; ``?source=`` its name, for the errors),
        loaded into the store this worker owns."""
        request = cast(web.Request, req)
        source = request.query.get("source", "the file")[:200]
        if (refused := _admin(request)) is not None:
            return _json(view, refused, 401)
        try:
            data = await read_body(request, MAX_REFERENCE_BYTES, settings.collector_read_timeout_s)
        except BodyTooLarge:
            return _json(view, {"error": "too_large", "message": f"over {MAX_REFERENCE_BYTES:,} bytes"}, 413)
        except (BodyIncomplete, TimeoutError):
            return _json(view, {"error": "malformed", "message": "the body did not arrive whole"}, 400)
        async with _ADMIN_QUERIES:
            try:
                loaded = await asyncio.to_thread(apply, backend(), data, source)
            except ReferenceFileError as err:
                return _json(view, {"error": "refused", "message": str(err)[:1000]}, 400)
            except ParcoursError as err:
                return _json(view, {"error": "store", "message": str(err)[:1000]}, 503)
        return _json(view, loaded)

    taxonomy = Taxonomy()

    @app.page("/v1/load/spend")
    class LoadSpend(View):
        async def post(self, req: Request) -> Response:
            def apply(b: Backend, data: bytes, source: str) -> dict[str, int]:
                n = load_spend(
                    b, data, source=source, is_channel=taxonomy.is_channel, channels=taxonomy.channel_names()
                )
                return {"rows": n}

            return await _load(self, req, apply)

    @app.page("/v1/load/community")
    class LoadCommunity(View):
        async def post(self, req: Request) -> Response:
            def apply(b: Backend, data: bytes, source: str) -> dict[str, int]:
                cfg = load_community(b, data, source=source)
                return {"objectives": len(cfg.objectives), "flagged_accounts": len(cfg.flagged_accounts)}

            return await _load(self, req, apply)

    @app.page("/v1/sql")
    class Sql(View):
        async def post(self, req: Request) -> Response:
            request = cast(web.Request, req)
            if (refused := _admin(request)) is not None:
                return _json(self, refused, 401)
            try:
                doc = orjson.loads(await read_body(request, MAX_STATEMENT_CHARS * 4, settings.collector_read_timeout_s))
                sql, params = doc["sql"], doc.get("params") or {}
                if not isinstance(sql, str) or not isinstance(params, dict):
                    raise TypeError
            except BodyTooLarge:
                return _json(self, {"error": "too_large", "message": "statement too large"}, 413)
            except (orjson.JSONDecodeError, KeyError, TypeError, TimeoutError):
                return _json(self, {"error": "malformed", "message": 'expected {"sql": "...", "params": {}}'}, 400)
            limits = ReadLimits(
                max_execution_time_s=settings.admin_query_timeout_s, max_result_rows=settings.admin_query_max_rows
            )
            # One admin query at a time: on the embedded store each holds the lock ingestion needs.
            async with _ADMIN_QUERIES:
                try:
                    rows = await asyncio.to_thread(read_only_query, backend(), sql, params, limits=limits)
                except RefusedQuery as err:
                    return _json(self, {"error": "refused", "message": str(err)[:1000]}, 400)
                except ParcoursError as err:
                    return _json(self, {"error": "query", "message": str(err)[:1000]}, 400)
            return _json(self, {"rows": rows})
