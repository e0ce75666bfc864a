"""Plain words on every page (issue 14): for each role, every page it may open on the demo book
shows no register threat id, no gazetteer code (``sea.``, ``hotspot.``), no raw sector or
country code line and no validation-library wording."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.streamlit_app import pages_for
from engine.context import Context
from engine.store import Scope

from .conftest import new_app, page_text, sign_in

LIBRARY = re.compile(
    r"Value error|validation error|Input should be|pydantic|Traceback|\(got dict\)|"
    r"\bNone\b|/tmp/|S\.A\.\.|\b1 (sections|rows|valid rows|clients|items|threats)\b"
)
CODES = re.compile(r"\b(sea|hotspot)\.[a-z_]+")


def offences(text: str, threat_ids: list[str]) -> list[str]:
    found = [m.group(0) for m in CODES.finditer(text)]
    found += [m.group(0) for m in LIBRARY.finditer(text)]
    found += [t for t in threat_ids if re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", text)]
    found += re.findall(r"\b[a-z]+_[a-z_]+ · [A-Z]{3}\b", text)  # "oil_gas · GBR"
    return found


@pytest.mark.parametrize("user", ["meridian", "am", "analyst", "admin"])
def test_every_page_speaks_plain_words(app_db: Path, app_ctx: Context, user: str) -> None:
    threat_ids = [t.id for t in app_ctx.register().threats]
    at = sign_in(new_app(), user)
    assert not at.exception, at.exception
    role = {"meridian": "client", "am": "account_manager"}.get(user, user)
    bad: dict[str, list[str]] = {}
    for page in pages_for(role):
        at.switch_page(page.file).run()
        assert not at.exception, (page.file, at.exception)
        found = offences(page_text(at), threat_ids)
        if found:
            bad[page.file] = sorted(set(found))
    assert bad == {}


def test_advice_never_tells_a_client_to_move_an_oilfield(app_ctx: Context) -> None:
    from engine.insights import FIXED_SITES, improvements

    run = app_ctx.current_run()
    fixed_seen = 0
    for client in app_ctx.clients(Scope.everything()):
        assets = app_ctx.store.frame(
            "SELECT asset_id, asset_type FROM assets WHERE client_id = $c",
            {"c": client.client_id},
        )
        types = dict(assets.iter_rows())
        for o in improvements(app_ctx, run.run_id, client.client_id, top=50):
            if o.item_kind == "asset" and types.get(o.item_id) in FIXED_SITES:
                fixed_seen += 1
                assert not o.action.startswith("move"), (client.client_id, o.item_name, o.action)
                if "threat" not in o.action:
                    assert o.action.startswith("add ")
    assert fixed_seen > 0  # the demo book has oilfields, refineries and terminals to advise on
