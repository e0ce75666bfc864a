"""Regression (issue 13): client and brief text reaches every page as text.

Client names, item names, register titles, threat titles, summaries and section headings from an
ingested brief used to render as Markdown (13 external image fetches on one client's page). Here
they hold Markdown images and links, Streamlit directives, HTML, ESC sequences and bidi controls,
and every page is opened: the Markdown each element is given must carry the text escaped (so it
shows literally), and no control or bidi character may reach any element, table or chart.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from app.streamlit_app import PAGES
from engine.context import Context
from engine.models import ClientSpec
from engine.text import BIDI_CONTROLS
from scoring_rules.threats import Register

from .conftest import new_app, page_text, shown, sign_in

IMAGE = "![x](http://127.0.0.1:9/img.png)"
LINK = "[click](http://evil.example/)"
DIRECTIVES = ":red[red] :material/home: $x^2$ <img src=x onerror=alert(1)> **bold** `code`"
CONTROLS = "\x1b[31mRED\x1b[0m \u202eevil\u202c \u2066iso\u2069 \x9b31m"
HOSTILE = f"{IMAGE} {LINK} {DIRECTIVES} {CONTROLS}"
CLEANED = f"{IMAGE} {LINK} {DIRECTIVES} [31mRED[0m evil iso 31m"
CLIENT = "hostile-co"
FORBIDDEN = ["\x1b", "\x9b", *BIDI_CONTROLS]
# Markdown that would take effect: an image or link, a directive, raw HTML, emphasis, code, math
ACTIVE = re.compile(r"(?<!\\)(!\[|\]\(|:red\[|<img|\*\*bold|`code|\$x)")


def markdown_values(at: AppTest) -> list[str]:
    """The Markdown source of every element Streamlit renders as Markdown, and widget labels."""
    values: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "warning",
        "error",
        "success",
    ):
        values += [str(e.value) for e in getattr(at, kind)]
    values += [str(e.label) for e in at.expander]
    for kind in ("selectbox", "text_input", "text_area", "radio", "multiselect", "button"):
        values += [str(w.label) for w in getattr(at, kind)]
    return values


def assert_text_only(at: AppTest) -> None:
    assert not at.exception, at.exception
    for value in markdown_values(at):
        assert not ACTIVE.search(
            value.replace("**Category:**", "")
            .replace("**bears hardest on:**", "")
            .replace("**threat id:**", "")
        ), value
    text = page_text(at)
    for df in at.dataframe:
        text += df.value.to_csv()
    for ch in FORBIDDEN:
        assert ch not in text, f"{ch!r} on the page"


@pytest.fixture
def hostile_db(app_db: Path, app_ctx: Context) -> Path:
    ctx = app_ctx
    ctx.upsert_client(
        ClientSpec(client_id=CLIENT, name=f"Hostile {HOSTILE}", sector="oil_gas", hq_country="GBR")
    )
    assets = pl.DataFrame(
        {
            "asset_id": ["H-1", "H-2"],
            "name": [f"Depot {HOSTILE}", "Basra terminal"],
            "asset_type": ["terminal", "oilfield"],
            "lat": ["30.50", "30.61"],
            "lon": ["47.80", "47.33"],
            "country": ["IRQ", "IRQ"],
            "value_usd": ["5000000", "9000000"],
            "criticality": ["5", "4"],
        }
    )
    ctx.load_exposures(CLIENT, assets, None, note=f"note {HOSTILE}")
    doc = ctx.register().model_dump(mode="json")
    doc["title"] = f"Brief {HOSTILE}"
    for section in doc["outline"]:
        section["heading"] = f"Heading {HOSTILE}"
    for threat in doc["threats"]:
        threat["title"] = f"Threat {HOSTILE}"
        threat["likelihood_words"] = f"may {IMAGE}"
        for ev in threat["evidence"]:
            ev["summary"] = f"Summary {HOSTILE}"
    ctx.publish_register(Register.model_validate(doc), f"hostile {HOSTILE}", publish=True)
    ctx.current_run()
    return app_db


def test_every_page_shows_client_and_brief_text_literally(hostile_db: Path) -> None:
    at = sign_in(new_app(), "admin")
    at.query_params["client"] = CLIENT
    for page in PAGES:
        at.switch_page(page.file).run()
        assert_text_only(at)
        if page.file == "views/client.py":
            assert shown(at.title[0].value) == f"Hostile {CLEANED}"
            labels = [shown(e.label) for e in at.expander]
            assert labels and all(f"Threat {CLEANED}" in label for label in labels)
            summaries = [shown(m.value) for m in at.markdown if "Summary" in m.value]
            assert summaries and f"Heading {CLEANED}" in summaries[0]
            assert f"Summary {CLEANED}" in summaries[0]
            items = at.dataframe[0].value
            assert f"Depot {CLEANED} [H-1]" in items["item"].to_list()
        if page.file == "views/register.py":
            assert f"Brief {CLEANED}" in shown(at.caption[0].value)
            assert any(f"**Threat {CLEANED}**" in shown(m.value) for m in at.markdown)
        if page.file == "views/portfolio.py":
            assert f"Hostile {CLEANED}" in at.dataframe[0].value["client"].to_list()
    # the client user's own view of the same client
    at = sign_in(new_app(), "meridian")
    assert_text_only(at)


def test_plain_escapes_everything_markdown_would_act_on() -> None:
    from app.ui import plain

    assert plain(IMAGE) == "\\!\\[x\\]\\(http\\:\\/\\/127\\.0\\.0\\.1\\:9\\/img\\.png\\)".replace(
        "\\/", "/"
    )
    assert plain("a\x1bb\u202ec\nd") == "abc d"
    assert shown(plain(HOSTILE)) == CLEANED
