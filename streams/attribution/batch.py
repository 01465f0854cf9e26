"""``parcours attribution run``: recompute every model over a date range from ClickHouse.

Journeys are rebuilt through the *current* identity map (so late merges and late events are
reflected). Re-running a range replaces its rows: the range's batch rows are deleted, then
written again, so the result is the same however often it runs.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from streams.attribution.credits import credit_tables
from streams.attribution.markov import markov_attribution
from streams.attribution.rules import RULE_MODELS
from streams.attribution.shapley import shapley_simplified
from streams.journeys.build import Journey, build_journeys
from streams.journeys.query import timelines_between
from streams.settings import Settings
from streams.store.backend import Backend

CH_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True, slots=True)
class BatchResult:
    run_id: str
    conversions: int
    null_paths: int
    credit_rows: int
    channel_totals: dict[str, dict[str, tuple[float, float]]]  # model → channel → (conversions, revenue)


def data_driven_totals(journeys: list[Journey], *, markov_order: int = 1) -> dict[str, dict[str, tuple[float, float]]]:
    """Markov and Shapley credit channels over the whole set of journeys (converting and not)."""
    counts: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for j in journeys:
        if not j.path:
            continue
        c = counts[j.path]
        if j.conversion:
            c[0] += 1
            c[1] += j.conversion.revenue
        else:
            c[2] += 1
    paths = [(p, c[0], c[1], c[2]) for p, c in counts.items()]
    mk = markov_attribution(paths, order=markov_order)
    sh_conv, sh_val = shapley_simplified((p, c, v) for p, c, v, _ in paths)
    return {
        "markov": {ch: (mk.conversions[ch], mk.value[ch]) for ch in mk.conversions},
        "shapley": {ch: (sh_conv[ch], sh_val.get(ch, 0.0)) for ch in sh_conv},
    }


def run_batch(
    backend: Backend,
    settings: Settings,
    start: datetime,
    end: datetime,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    lookback = timedelta(days=settings.lookback_days)
    timelines = timelines_between(backend, start, end, lookback=lookback)
    journeys: list[Journey] = []
    for i, tl in enumerate(timelines):
        journeys += [
            j
            for j in build_journeys(tl, lookback=lookback)
            if (j.conversion is None or start <= j.conversion.time < end)
        ]
        if progress and i % 500 == 0:
            progress(i, len(timelines))
    now = datetime.now(UTC)
    jtable, ctable = credit_tables(
        journeys, RULE_MODELS, source="batch", half_life=timedelta(days=settings.half_life_days), now=now
    )
    totals = data_driven_totals(journeys)
    run_id = uuid.uuid4().hex
    lo, hi = start.astimezone(UTC).strftime(CH_DATETIME)[:-3], end.astimezone(UTC).strftime(CH_DATETIME)[:-3]
    rng = {"lo": lo, "hi": hi}
    # Replace the range: delete then insert (lightweight deletes; idempotent re-runs).
    for table, col in (("journeys", "conversion_time"), ("attribution_credits", "conversion_time")):
        backend.execute(
            f"DELETE FROM {table} WHERE source = 'batch' AND {col} >= {{lo:DateTime64(3, 'UTC')}} "
            f"AND {col} < {{hi:DateTime64(3, 'UTC')}}",
            rng,
        )
    backend.execute(
        "DELETE FROM attribution_channel_totals WHERE period_start = {lo:DateTime64(3, 'UTC')} "
        "AND period_end = {hi:DateTime64(3, 'UTC')}",
        rng,
    )
    backend.insert_arrow("journeys", jtable)
    for batch in ctable.to_batches(max_chunksize=50_000):
        backend.insert_arrow("attribution_credits", pa.Table.from_batches([batch]))
    backend.insert(
        "attribution_channel_totals",
        [
            {
                "run_id": run_id,
                "model": model,
                "period_start": start.astimezone(UTC),
                "period_end": end.astimezone(UTC),
                "channel": ch,
                "conversions": c,
                "revenue": v,
                "computed_at": now,
            }
            for model, chans in totals.items()
            for ch, (c, v) in chans.items()
        ],
    )
    if progress:
        progress(len(timelines), len(timelines))
    null_paths = sum(1 for j in journeys if j.conversion is None)
    return BatchResult(run_id, jtable.num_rows, null_paths, ctable.num_rows, totals)


def channel_credits(
    backend: Backend, model: str, start: datetime, end: datetime, source: str = "batch"
) -> list[dict[str, Any]]:
    """Conversions and revenue per channel for a model (the Python API the dashboards agree with)."""
    return backend.query(
        "SELECT channel, sum(credit) AS conversions, sum(revenue_credit) AS revenue FROM attribution_credits FINAL "
        "WHERE model = {model:String} AND source = {source:String} "
        "AND conversion_time >= {lo:DateTime64(3, 'UTC')} AND conversion_time < {hi:DateTime64(3, 'UTC')} "
        "GROUP BY channel ORDER BY channel",
        {
            "model": model,
            "source": source,
            "lo": start.astimezone(UTC).strftime(CH_DATETIME)[:-3],
            "hi": end.astimezone(UTC).strftime(CH_DATETIME)[:-3],
        },
    )
