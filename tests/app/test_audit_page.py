"""The admin's audit log page: every publish and roll-back with who, when, which version and why,
filtered by document, user and action (AppTest, signed in with the test passwords)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from engine.context import Context
from scoring_rules.rules import Rules

Signed = Callable[[str], AppTest]


def _publish_and_roll_back(ctx: Context) -> int:
    doc = json.loads(ctx.rules().model_dump_json())
    doc["vulnerability"]["assets"]["values"]["cyber_attack"]["data_centre"] = 0.2
    version = ctx.publish_rules(Rules.model_validate(doc), "data centres hardened", by="analyst")
    ctx.rollback("rules", 1, note="hardening not confirmed", by="admin")
    return version


def _table(at: AppTest) -> list[dict[str, object]]:
    records: list[dict[str, object]] = at.dataframe[0].value.to_dict("records")
    return records


def test_admin_reads_and_filters_the_audit_log(signed_in: Signed, app_ctx: Context) -> None:
    version = _publish_and_roll_back(app_ctx)
    at = signed_in("admin")
    at.switch_page("views/audit.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Audit log"
    rows = _table(at)
    assert [(r["user"], r["action"], r["document"], r["version"], r["note"]) for r in rows[:2]] == [
        ("admin", "rollback", "rules", 1, "hardening not confirmed"),
        ("analyst", "publish", "rules", version, "data centres hardened"),
    ]
    # the demo book's loads are there too (who loaded which client's exposure list)
    assert any(r["document"] == "exposures meridian-basin-petroleum" for r in rows)
    at.selectbox(key="audit_kind").set_value("rules").run()
    assert {r["document"] for r in _table(at)} == {"rules"}
    at.selectbox(key="audit_user").set_value("analyst").run()
    assert [(r["action"], r["version"]) for r in _table(at)] == [("publish", version)]
    at.selectbox(key="audit_user").set_value("(all)")
    at.selectbox(key="audit_action").set_value("rollback").run()
    assert [(r["user"], r["note"]) for r in _table(at)] == [("admin", "hardening not confirmed")]
    at.selectbox(key="audit_kind").set_value("scenario").run()
    assert not at.dataframe
    assert "No entry matches these filters." in [i.value for i in at.info]


def test_the_audit_log_is_for_admins_only(signed_in: Signed) -> None:
    from app.streamlit_app import pages_for

    for role in ("client", "account_manager", "analyst"):
        assert "views/audit.py" not in [p.file for p in pages_for(role)]
    at = signed_in("analyst")
    with pytest.raises(ValueError, match="Could not find a navigation page for .*audit.py"):
        at.switch_page("views/audit.py")
