"""The rating history on the Client page, movers on the Portfolio, and the Alerts page (AppTest)."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from engine import alerts, publication
from engine.context import Context
from scoring_rules.threats import parse_register

from .conftest import page_text

OIL = "meridian-basin-petroleum"
Signed = Callable[[str], AppTest]


def calmer_iraq(ctx: Context) -> None:
    """An analyst's publish that moves the oil company from band E to D (score 37.0 -> 46.3)."""
    doc = ctx.register().model_dump()
    for t in doc["threats"]:
        if t["id"] == "iraq-security-volatility":
            t["likelihood"] = "remote_chance"
    register = parse_register(doc, "test")
    publication.publish(ctx, "register", register, note="Iraq calmer", by="analyst")


def test_client_page_history_after_a_publish(signed_in: Signed, app_ctx: Context) -> None:
    calmer_iraq(app_ctx)
    at = signed_in("meridian")
    assert "Rating history" in [s.value for s in at.subheader]
    frames = [d.value for d in at.dataframe if "why it moved" in d.value.columns]
    assert len(frames) == 1
    hist = frames[0]
    assert hist["what"].tolist() == [
        "threat register version 2 (Iraq calmer)",
        "ratings when history began",
    ]
    assert hist["band"].tolist() == ["D", "E"]
    assert hist["score"].tolist() == [46.3, 37.0]
    assert hist["change"].tolist()[0] == 9.4
    assert hist["why it moved"].tolist()[0] == (
        "threat register version 1 -> 2 (Iraq calmer); changed threat: Unstable and "
        "unpredictable security conditions across Iraq (likelihood likely -> remote chance)"
    )
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")  # the chart is drawn


def test_follow_from_the_client_page_and_see_the_alert(signed_in: Signed, app_ctx: Context) -> None:
    at = signed_in("am")
    at.query_params["client"] = OIL
    at.switch_page("views/client.py").run()
    follow = next(b for b in at.button if b.label == "Follow")
    follow.click().run()
    assert not at.exception, at.exception
    assert [(f.username, f.client_id, f.min_points) for f in alerts.follows(app_ctx)] == [
        ("am", OIL, None)
    ]
    assert "You follow Meridian Basin Petroleum plc: an alert on a band change." in page_text(at)
    calmer_iraq(app_ctx)
    at.switch_page("views/alerts.py").run()
    text = page_text(at)
    assert "Notifications (1 new)" in text
    headline = "Meridian Basin Petroleum plc: band E -> D, score 37.0 -> 46.3 (+9.4 points)"
    assert f"New · {headline}" in text
    assert "email: in-app only: no SMTP server is configured" in text
    assert "This server sends no email (no SMTP server is configured)" in text
    assert "**1 new alert**: open Alerts" in text  # in the sidebar
    next(b for b in at.button if b.label == "Mark all as read").click().run()
    assert "Notifications (1 new)" not in page_text(at)


def test_a_client_user_picks_only_its_own_client_to_follow(signed_in: Signed) -> None:
    at = signed_in("meridian")
    at.switch_page("views/alerts.py").run()
    assert not at.exception, at.exception
    picker = next(s for s in at.selectbox if s.label == "Client")
    assert picker.options == ["Meridian Basin Petroleum plc"]


def test_portfolio_movers_since_the_last_publication(signed_in: Signed, app_ctx: Context) -> None:
    at = signed_in("am")
    assert "No publication since history began" in page_text(at)
    calmer_iraq(app_ctx)
    at.run()
    frames = [d.value for d in at.dataframe if "why" in d.value.columns]
    assert len(frames) == 1
    movers = frames[0].set_index("client")
    assert movers.loc["Meridian Basin Petroleum plc", "before"] == "E 37.0"
    assert movers.loc["Meridian Basin Petroleum plc", "band"] == "D"
    assert movers.loc["Meridian Basin Petroleum plc", "change"] == 9.4
    assert "Andes Verde Agro S.A." not in movers.index
    assert "threat register version 2, published by analyst" in page_text(at)
