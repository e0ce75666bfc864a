"""Charts (altair; nothing fetched). The map is app.worldmap's."""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl

from engine.models import Explanation
from engine.text import clean

BAND_COLOURS = {"A": "#2e7d32", "B": "#7cb342", "C": "#f9a825", "D": "#ef6c00", "E": "#c62828"}


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def drivers_chart(e: Explanation, top: int = 8) -> alt.Chart:
    """The threats that drive a rating: share of the client's expected disruption."""
    rows = [
        {
            "threat": _short(clean(t.title), 56),
            "share": t.share,
            "category": t.category.replace("_", " "),
            "likelihood": clean(f"{t.likelihood.replace('_', ' ')} ({t.likelihood_words})"),
        }
        for t in e.threats[:top]
    ]
    data = pl.DataFrame(
        rows,
        schema={
            "threat": pl.String,
            "share": pl.Float64,
            "category": pl.String,
            "likelihood": pl.String,
        },
    )
    return (
        alt.Chart(data.to_pandas())
        .mark_bar()
        .encode(
            x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of expected disruption"),
            y=alt.Y("threat:N", sort="-x", title=None, axis=alt.Axis(labelLimit=300)),
            color=alt.Color(
                "category:N", title="category", legend=alt.Legend(orient="bottom", columns=3)
            ),
            tooltip=["threat", "category", "likelihood", alt.Tooltip("share:Q", format=".0%")],
        )
        .properties(height=alt.Step(26))
    )


def before_after_chart(rows: list[dict[str, Any]]) -> alt.LayerChart:
    """Score before and after (a scenario or a draft), one row per client."""
    data = pl.DataFrame(
        rows, schema={"client": pl.String, "before": pl.Float64, "after": pl.Float64}
    )
    order = data["client"].to_list()  # the caller's order, stated in the spec itself
    base = alt.Chart(data.to_pandas()).encode(
        y=alt.Y("client:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    )
    rule = base.mark_rule(color="#90a4ae").encode(
        x=alt.X("before:Q", title="score (0-100)", scale=alt.Scale(domain=[0, 100])), x2="after:Q"
    )
    before = base.mark_point(filled=True, color="#78909c", size=70).encode(
        x="before:Q", tooltip=["client", alt.Tooltip("before:Q", format=".1f")]
    )
    after = base.mark_point(filled=True, color="#c62828", size=90, shape="diamond").encode(
        x="after:Q", tooltip=["client", alt.Tooltip("after:Q", format=".1f")]
    )
    chart = alt.layer(rule, before, after).properties(height=max(120, 30 * len(rows)))
    assert isinstance(chart, alt.LayerChart)
    return chart
