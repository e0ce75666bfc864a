"""Every page and role through Streamlit's AppTest: what each role sees, and what it must not."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from app import words
from app.session import SESSION_KEY, SignedIn
from app.streamlit_app import PAGES, pages_for
from engine import insights
from engine.auth import add_user, set_disabled
from engine.context import EVERYONE, Context
from engine.report import render_portfolio_report

from .conftest import OTHER_CLIENTS as OTHER_NAMES
from .conftest import new_app, page_text, sign_in

# other clients' names and ids: none may appear on a client user's pages
OTHER_CLIENTS = [
    *OTHER_NAMES,
    "nordhavn-container-lines",
    "hudson-crescent-bancorp",
    "andes-verde-agro",
]

ALL_PAGES = {p.file for p in PAGES}
EXPECTED = {
    "client": {"views/client.py", "views/upload.py", "views/alerts.py", "views/glossary.py"},
    "account_manager": {
        "views/portfolio.py",
        "views/client.py",
        "views/clients.py",
        "views/upload.py",
        "views/scenarios.py",
        "views/alerts.py",
        "views/glossary.py",
    },
    "analyst": {
        "views/portfolio.py",
        "views/client.py",
        "views/scenarios.py",
        "views/register.py",
        "views/rules.py",
        "views/brief.py",
        "views/glossary.py",
    },
    "admin": ALL_PAGES,
}
USERS = {"client": "meridian", "account_manager": "am", "analyst": "analyst", "admin": "admin"}

Signed = Callable[[str], AppTest]


def titles(at: AppTest) -> list[str]:
    """The page titles as a reader sees them (client text in them is Markdown-escaped)."""
    return [re.sub(r"\\(.)", r"\1", str(t.value)) for t in at.title]


# -- signing in -----------------------------------------------------------------------------------


def test_signed_out_only_the_sign_in_page_exists(app_db: Path) -> None:
    at = new_app().run()
    assert titles(at) == ["Operational resilience"]
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    for page in ALL_PAGES:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(app_db: Path) -> None:
    at = sign_in(new_app(), "am", "not-the-password")
    assert [e.value for e in at.error] == ["Unknown username or wrong password."]
    assert SESSION_KEY not in at.session_state
    at = sign_in(new_app(), "nobody-here", "not-the-password")
    assert [e.value for e in at.error] == ["Unknown username or wrong password."]


def test_repeated_failures_slow_the_source_down(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine import throttle

    # the throttle's clock stands still: slow sign-ins on a busy machine cannot outlast the wait
    monkeypatch.setattr(throttle.THROTTLE, "clock", lambda: 1000.0)
    for _ in range(throttle.FREE_FAILURES + 4):  # then 16 s before this source may try again
        sign_in(new_app(), "nobody-at-all", "wrong-password-x")
    at = sign_in(new_app(), "analyst")  # the right password, but this source must wait first
    assert re.fullmatch(
        r"Too many failed attempts; try again in 1?[0-9] seconds\.", at.error[0].value
    )
    assert SESSION_KEY not in at.session_state


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_gets_exactly_its_pages(signed_in: Signed, role: str) -> None:
    at = signed_in(USERS[role])
    assert {p.file for p in pages_for(role)} == EXPECTED[role]
    for page in sorted(ALL_PAGES):
        if page in EXPECTED[role]:
            at.switch_page(page).run()
            assert not at.exception, (page, at.exception)
            assert titles(at), page
        else:
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(page)


def test_sign_out(signed_in: Signed) -> None:
    at = signed_in("am")
    at.button(key="sign_out").click().run()
    assert SESSION_KEY not in at.session_state
    at.run()
    assert titles(at) == ["Operational resilience"]


def test_a_disabled_user_is_signed_out_on_the_next_click(
    signed_in: Signed, app_ctx: Context
) -> None:
    at = signed_in("am")
    assert titles(at) == ["Portfolio"]
    set_disabled(app_ctx, "am")
    at.run()
    assert titles(at) == ["Operational resilience"]
    assert SESSION_KEY not in at.session_state


def test_role_changes_in_the_database_apply_on_the_next_click(
    signed_in: Signed, app_ctx: Context
) -> None:
    at = signed_in("analyst")
    at.switch_page("views/rules.py").run()
    add_user(
        app_ctx,
        "analyst",
        "demo-analyst-2020",
        "client",
        client_id="andes-verde-agro",
        replace=True,
    )
    at.run()
    assert titles(at) == ["Andes Verde Agro S.A."]
    with pytest.raises(ValueError):
        at.switch_page("views/rules.py")


def test_a_forged_session_value_is_not_a_sign_in(app_db: Path) -> None:
    at = new_app()
    at.session_state[SESSION_KEY] = {"username": "admin", "role": "admin"}
    at.run()
    assert titles(at) == ["Operational resilience"]
    at = new_app()
    at.session_state[SESSION_KEY] = SignedIn("ghost-user")
    at.run()
    assert titles(at) == ["Operational resilience"]


# -- a client sees its own data and nothing else -------------------------------------------------


def test_client_sees_only_its_own_client_page(signed_in: Signed) -> None:
    at = signed_in("meridian")
    assert titles(at) == ["Meridian Basin Petroleum plc"]
    assert not at.selectbox  # no client picker for a client user
    text = page_text(at)
    for other in OTHER_CLIENTS:
        assert other not in text, other


@pytest.mark.parametrize(
    "param", ["nordhavn-container-lines", "no-such-client", "meridian-basin-petroleum' OR 1=1 --"]
)
def test_client_query_parameter_for_another_client_is_ignored(
    signed_in: Signed, param: str
) -> None:
    at = signed_in("meridian")
    at.query_params["client"] = param
    at.switch_page("views/client.py").run()
    assert titles(at) == ["Meridian Basin Petroleum plc"]
    assert "client" not in at.query_params
    text = page_text(at)
    for other in OTHER_CLIENTS:
        assert other not in text, other
    assert "not available to you" not in text  # no oracle: the parameter is simply dropped


def test_client_session_tricks_do_not_reach_another_client(signed_in: Signed) -> None:
    at = signed_in("meridian")
    # widget keys other roles use, set by hand: a client has no such widget, nothing changes
    at.session_state["client_pick"] = "nordhavn-container-lines"
    at.session_state["upload_client"] = "nordhavn-container-lines"
    at.run()
    assert titles(at) == ["Meridian Basin Petroleum plc"]
    at.switch_page("views/upload.py").run()
    text = page_text(at)
    assert "Meridian Basin Petroleum plc" in text
    for other in OTHER_CLIENTS:
        assert other not in text, other


# -- account managers: their book only -----------------------------------------------------------


def test_account_manager_portfolio_lists_only_the_book(signed_in: Signed, app_ctx: Context) -> None:
    add_user(
        app_ctx,
        "bea",
        "bea-password-1",
        "account_manager",
        book=["andes-verde-agro", "aurelian-airways"],
    )
    at = sign_in(new_app(), "bea", "bea-password-1")
    assert titles(at) == ["Portfolio"]
    table = at.dataframe[0].value
    assert sorted(table["id"]) == ["andes-verde-agro", "aurelian-airways"]
    assert at.metric[0].value == "2"
    text = page_text(at)
    assert "Meridian" not in text and "Nordhavn" not in text
    at.query_params["client"] = "meridian-basin-petroleum"
    at.switch_page("views/client.py").run()
    # the client most in need of attention opens first (Aurelian is rated D, Andes Verde A),
    # and the other book's client named in the URL is ignored
    assert titles(at) == ["Aurelian Airways N.V."]
    assert at.selectbox(key="client_pick").options == [
        "Andes Verde Agro S.A. (andes-verde-agro)",
        "Aurelian Airways N.V. (aurelian-airways)",
    ]
    at.switch_page("views/scenarios.py").run()
    assert sorted(at.dataframe[0].value["id"]) == ["andes-verde-agro", "aurelian-airways"]


def test_account_manager_opens_a_client_from_the_query_parameter(signed_in: Signed) -> None:
    at = signed_in("am")
    at.query_params["client"] = "nordhavn-container-lines"
    at.switch_page("views/client.py").run()
    assert titles(at) == ["Nordhavn Container Lines A/S"]
    at.selectbox(key="client_pick").set_value("hudson-crescent-bancorp").run()
    assert titles(at) == ["Hudson Crescent Bancorp"]
    assert at.query_params["client"] == "hudson-crescent-bancorp"


# -- the pages' content ---------------------------------------------------------------------------


def test_portfolio_ranks_the_book_and_filters(signed_in: Signed, app_ctx: Context) -> None:
    at = signed_in("am")
    table = at.dataframe[0].value
    run = app_ctx.current_run()
    ratings = app_ctx.ratings(run.run_id, scope=EVERYONE)
    assert list(table["id"]) == [r.client_id for r in ratings]
    assert list(table["rank"]) == list(range(1, 11))
    assert table["score"].iloc[0] == pytest.approx(round(ratings[0].score, 1))
    assert table["top driver"].iloc[0].endswith("%)")
    at.multiselect(key="pf_band").set_value(["E"]).run()
    shown = at.dataframe[0].value
    assert set(shown["band"]) == {"E"}
    assert len(shown) == sum(r.band == "E" for r in ratings)
    assert at.get("deck_gl_json_chart"), "the exposure map is drawn"


def test_the_app_and_the_portfolio_pdf_name_the_same_top_threat(
    signed_in: Signed, app_ctx: Context
) -> None:
    at = signed_in("am")
    table = at.dataframe[0].value
    in_app = dict(zip(table["id"], table["top driver"], strict=True))
    assert in_app["aurelian-airways"] == (
        "Global oil price disruption following attacks in the Gulf (32%)"
    )
    assert in_app["gulfbridge-logistics"] == (
        "Proxy attacks on merchant vessels in Gulf waters (24%)"
    )
    pdf = render_portfolio_report(app_ctx, fmt="pdf")
    reader = PdfReader(io.BytesIO(pdf))
    squeezed = re.sub(r"\s+", "", " ".join(p.extract_text() or "" for p in reader.pages))
    run = app_ctx.current_run()
    ratings = app_ctx.ratings(run.run_id, scope=EVERYONE)
    assert len(ratings) == len(in_app) == 10
    starts = [squeezed.index(re.sub(r"\s+", "", r.name)) for r in ratings]
    ends = [*starts[1:], squeezed.index("Movers")]
    for r, start, end in zip(ratings, starts, ends, strict=True):
        # the PDF's ranking row for the client names the threat the app names, with its share
        assert re.sub(r"\s+", "", in_app[r.client_id]) in squeezed[start:end], r.client_id
        # and the client page's drivers chart leads with the same threat
        top = app_ctx.explain(r.client_id, run.run_id, top=1, scope=EVERYONE).threats[0]
        assert in_app[r.client_id] == f"{top.title} ({top.share:.0%})"


def test_portfolio_shows_the_change_since_the_previous_run(
    signed_in: Signed, app_ctx: Context
) -> None:
    rules = app_ctx.rules()
    doc = rules.model_dump()
    doc["targeting"]["collateral_factor"] = 0.6
    from scoring_rules.rules import parse_rules

    app_ctx.publish_rules(parse_rules(doc, "test"), "more collateral")
    at = signed_in("am")
    assert "change compared with run" in page_text(at)
    table = at.dataframe[0].value
    assert table["change"].notna().all()
    assert (table["change"] < 0).any()


def test_client_page_content(signed_in: Signed, app_ctx: Context) -> None:
    at = signed_in("meridian")
    run = app_ctx.current_run()
    r = app_ctx.rating(run.run_id, "meridian-basin-petroleum", scope=EVERYONE)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Band"] == r.band
    assert metrics["Score"] == f"{r.score:.1f} / 100"
    assert metrics["Range"] == (
        f"{r.band_low} to {r.band_high} ({r.score_low:.0f} to {r.score_high:.0f})"
    )
    assert words.range_meaning(r) in page_text(at)
    assert "out of 100, from the least to the most likely reading" in words.range_meaning(r)
    assert metrics["As of"] == run.as_of.isoformat()
    caption = page_text(at)
    assert f"threat register v{run.register_version}" in caption
    assert f"rules v{run.rules_version}" in caption
    subheaders = [s.value for s in at.subheader]
    assert "What would most improve the rating" in subheaders
    improve = next(d.value for d in at.dataframe if "gain" in d.value.columns)
    assert len(improve) > 0 and (improve["gain"] > 0).all()
    assert any("¶" in m.value for m in at.markdown)  # evidence cites the brief's paragraphs
    assert len(at.get("vega_lite_chart")) == 1  # the drivers chart
    assert len(at.get("deck_gl_json_chart")) == 1  # and the map


def test_improvements_reproduce_the_run_before_changing_anything(app_ctx: Context) -> None:

    run = app_ctx.current_run()
    for r in app_ctx.ratings(run.run_id, scope=EVERYONE):
        assert insights.baseline_score(app_ctx, run.run_id, r.client_id) == pytest.approx(
            r.score, abs=1e-6
        )


def test_a_suggested_mitigation_is_what_the_engine_then_scores(app_ctx: Context) -> None:
    """Apply the top 'add <mitigation>' suggestion for real and re-score: the engine agrees."""
    import polars as pl

    client = "hudson-crescent-bancorp"
    run = app_ctx.current_run()
    best = next(
        o for o in insights.improvements(app_ctx, run.run_id, client) if o.action.startswith("add ")
    )
    mitigation = best.action.removeprefix("add ").replace(" ", "_")
    assets = app_ctx.store.frame(
        "SELECT asset_id, name, asset_type, lat, lon, city, country, value_usd, criticality, "
        "headcount, service_id, mitigations, country_iso3, subdivision, geo_precision "
        "FROM assets a JOIN exposure_current c "
        "USING (client_id, version) WHERE a.client_id = $c ORDER BY asset_id",
        {"c": client},
    )
    assets = assets.with_columns(
        pl.when(pl.col("asset_id") == best.item_id)
        .then(pl.col("mitigations").list.concat(pl.lit([mitigation])))
        .otherwise(pl.col("mitigations"))
        .list.join(";")
        .alias("mitigations")
    )
    # the rows as stored, with where they were placed: kept, not located again
    app_ctx.load_exposures(client, assets, None, note="test")
    after = app_ctx.rating(app_ctx.current_run().run_id, client, scope=EVERYONE)
    assert after.score == pytest.approx(best.score_after, abs=1e-6)


def test_scenario_page_before_and_after(signed_in: Signed, app_ctx: Context) -> None:
    at = signed_in("am")
    at.switch_page("views/scenarios.py").run()
    sc = at.selectbox(key="sc_pick")
    assert sc.options
    first = str(sc.value)
    table = at.dataframe[0].value
    rows = app_ctx.compare_scenario(first, scope=EVERYONE)
    assert list(table["id"]) == [r.client_id for r in rows]
    assert list(table["change"]) == [round(r.delta, 1) for r in rows]


def test_upload_page_says_when_uploads_are_not_available(
    signed_in: Signed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(Context, "prepare_upload")
    at = signed_in("meridian")
    at.switch_page("views/upload.py").run()
    assert any("Uploads are not available in this build" in i.value for i in at.info)
    assert not at.get("file_uploader")
    assert not at.success


def test_client_downloads_its_own_report(signed_in: Signed) -> None:
    from app import data

    if not data.has_report():
        pytest.skip("engine.report is not in this build")
    at = signed_in("meridian")
    download = at.get("download_button")
    assert [d.proto.label for d in download] == [
        "Download the report (PDF)",
        "Download the report (HTML)",
        "Download the workbook (XLSX)",
        "Download the items (CSV)",
    ]
    # each file is sent when its button is clicked: no link to it exists before that
    assert all(d.proto.deferred_file_id and not d.proto.url for d in download)
    pdf = data.report_for(
        data.Scope.of("meridian-basin-petroleum"),
        "meridian-basin-petroleum",
        data.current_run().run_id,
    )
    assert pdf.startswith(b"%PDF")
    with pytest.raises(Exception, match="not available to you"):
        data.report_for(
            data.Scope.of("meridian-basin-petroleum"),
            "nordhavn-container-lines",
            data.current_run().run_id,
        )
