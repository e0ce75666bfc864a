"""The analyst's editors (rules, threat register) and the upload flow, through AppTest."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import FileUploader

from app.drafts import RulesDraft
from engine.context import EVERYONE, Context

from .conftest import page_text, shown

Signed = Callable[[str], AppTest]


def uploader_of(at: AppTest) -> FileUploader:
    found = at.get("file_uploader")[0]
    assert isinstance(found, FileUploader)
    return found


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


# -- rules ----------------------------------------------------------------------------------------


def change_weight(at: AppTest, table: str, row: str, col: str, value: float) -> None:
    at.selectbox(key="rq_table").set_value(table).run()
    at.selectbox(key="rq_row").set_value(row)
    at.selectbox(key="rq_col").set_value(col)
    at.number_input(key="rq_value").set_value(value)
    _button(at, "Apply to the draft").click().run()


def test_rules_change_preview_publish_and_the_account_manager_sees_it(
    signed_in: Signed, app_ctx: Context
) -> None:
    run0 = app_ctx.current_run()
    before = app_ctx.rating(run0.run_id, "hudson-crescent-bancorp", scope=EVERYONE)
    at = signed_in("analyst")
    at.switch_page("views/rules.py").run()
    assert not at.exception
    change_weight(at, "vulnerability.assets", "cyber_attack", "data_centre", 0.2)
    assert not at.exception, at.exception
    assert "The draft is valid: 1 change(s)." in [s.value for s in at.success]
    diff = next(d.value for d in at.dataframe if "key" in d.value.columns)
    assert diff.to_dict("records") == [
        {"key": "vulnerability.assets.cyber_attack.data_centre", "before": "1", "after": "0.2"}
    ]
    # nothing stored yet
    assert app_ctx.history("rules").height == 1
    at.button(key="rules_preview").click().run()
    assert not at.exception, at.exception
    impact = next(d.value for d in at.dataframe if "why" in d.value.columns)
    row = impact[impact["client"] == "Hudson Crescent Bancorp"].iloc[0]
    assert row["change"] > 0
    assert "cyber" in row["why"].lower() or "expected disruption" in row["why"]
    # the preview published nothing and left no version to roll back to
    assert app_ctx.history("rules")["status"].to_list() == ["published"]
    assert app_ctx.rollback_targets("rules") == []
    assert app_ctx.rules_version() == 1
    # publishing needs a note
    _button(at, "Publish these rules").click().run()
    assert "Write a note" in at.error[0].value
    at.text_input(key="rules_note").input("data centres are better defended than assumed")
    _button(at, "Publish these rules").click().run()
    assert not at.exception, at.exception
    # the previewed version is the one published: no second, identical version
    assert app_ctx.rules_version() == 2
    assert app_ctx.history("rules").select("version", "status").rows() == [
        (1, "published"),
        (2, "published"),
    ]
    assert any("Published rules version 2" in s.value for s in at.success)
    entry = app_ctx.audit_entries(kind="rules", limit=1)[0]
    assert (entry.user, entry.action, entry.version, entry.note) == (
        "analyst",
        "publish",
        2,
        "data centres are better defended than assumed",
    )
    after = app_ctx.rating(app_ctx.current_run().run_id, "hudson-crescent-bancorp", scope=EVERYONE)
    assert after.score > before.score

    am = signed_in("am")
    table = am.dataframe[0].value
    shown = table[table["id"] == "hudson-crescent-bancorp"].iloc[0]
    assert shown["score"] == pytest.approx(round(after.score, 1))
    assert shown["change"] == pytest.approx(round(after.score - before.score, 1), abs=0.11)


def test_rules_errors_are_shown_with_the_key_and_the_allowed_range(
    signed_in: Signed, app_ctx: Context
) -> None:
    at = signed_in("analyst")
    at.switch_page("views/rules.py").run()
    doc = json.loads(app_ctx.rules().model_dump_json())
    doc["vulnerability"]["assets"]["values"]["cyber_attack"]["data_centre"] = 1.7
    at.session_state["rules_draft"] = RulesDraft(base_version=1, doc=doc)
    at.run()
    assert [shown(e.value) for e in at.error] == [
        "draft rules, vulnerability.assets.values.cyber_attack.data_centre: 1.7 is above 1.0 "
        "(allowed 0..1)"
    ]
    assert not [b for b in at.button if b.label == "Publish these rules"]


def test_rules_roll_back(signed_in: Signed, app_ctx: Context) -> None:
    at = signed_in("analyst")
    at.switch_page("views/rules.py").run()
    change_weight(at, "targeting.sector_sensitivity", "cyber_attack", "banking", 0.5)
    at.button(key="rules_preview").click().run()
    at.text_input(key="rules_note").input("banks less exposed")
    _button(at, "Publish these rules").click().run()
    assert app_ctx.rules_version() == 2
    assert at.selectbox(key="rules_rb_v").options == ["1"]  # published versions only
    at.selectbox(key="rules_rb_v").set_value(1)
    _button(at, "Roll back").click().run()
    assert "Write a note saying why you roll back." in [e.value for e in at.error]
    assert app_ctx.rules_version() == 2
    at.text_input(key="rules_rb_note").input("banks are exposed after all")
    _button(at, "Roll back").click().run()
    assert app_ctx.rules_version() == 1
    assert any("Rules version 1 is current again" in s.value for s in at.success)
    entry = app_ctx.audit_entries(kind="rules", limit=1)[0]
    assert (entry.user, entry.action, entry.version, entry.note) == (
        "analyst",
        "rollback",
        1,
        "banks are exposed after all",
    )


# -- threat register ------------------------------------------------------------------------------


def test_register_edit_save_draft_publish_and_roll_back(
    signed_in: Signed, app_ctx: Context
) -> None:
    at = signed_in("analyst")
    at.switch_page("views/register.py").run()
    assert not at.exception
    threats = at.dataframe[0].value
    assert len(threats) == len(app_ctx.register().threats)
    tid = str(at.selectbox(key="rg_pick").value)
    original = app_ctx.register().threat(tid)
    assert any(f"¶{original.evidence[0].paragraph}" in m.value for m in at.markdown)
    at.slider(key=f"rg_sev_{tid}").set_value(1)
    at.text_area(key=f"rg_sum_{tid}_0").input("Our own shorter summary of this paragraph.")
    _button(at, "Apply to the draft").click().run()
    assert not at.exception, at.exception
    assert f"Edited: {original.title}" in page_text(at)
    # save as a draft: stored, not current
    at.text_input(key="rg_note").input("severity reviewed")
    _button(at, "Save as a draft version").click().run()
    assert app_ctx.register_version() == 1
    assert app_ctx.history("register")["status"].to_list() == ["published", "draft"]
    assert app_ctx.register(2).threat(tid).severity == 1
    assert app_ctx.register(2).threat(tid).evidence[0].summary == (
        "Our own shorter summary of this paragraph."
    )
    # edit again and publish
    at.slider(key=f"rg_sev_{tid}").set_value(2)
    _button(at, "Apply to the draft").click().run()
    at.button(key="rg_preview").click().run()
    assert not at.exception, at.exception
    at.text_input(key="rg_note").input("severity 2 after review")
    _button(at, "Publish").click().run()
    assert app_ctx.register_version() == 3  # the previewed version, published as stored
    assert app_ctx.register().threat(tid).severity == 2
    assert app_ctx.history("register").select("version", "status").rows() == [
        (1, "published"),
        (2, "draft"),
        (3, "published"),
    ]
    # the saved draft (2) is never offered for a roll-back
    assert at.selectbox(key="rg_rb_v").options == ["1"]
    at.selectbox(key="rg_rb_v").set_value(1)
    at.text_input(key="rg_rb_note").input("severity back as the brief says")
    _button(at, "Roll back").click().run()
    assert app_ctx.register_version() == 1
    assert [(e.user, e.action, e.version, e.note) for e in app_ctx.audit_entries(kind="register")][
        :3
    ] == [
        ("analyst", "rollback", 1, "severity back as the brief says"),
        ("analyst", "publish", 3, "severity 2 after review"),
        ("analyst", "draft", 2, "severity reviewed"),
    ]


def app_ctx_title(at: AppTest, tid: str) -> str:
    from app import data

    return data.context().register().threat(tid).title


def test_register_refuses_an_invalid_edit(signed_in: Signed) -> None:
    at = signed_in("analyst")
    at.switch_page("views/register.py").run()
    tid = str(at.selectbox(key="rg_pick").value)
    at.number_input(key=f"rg_hf_{tid}").set_value(5.0)
    at.number_input(key=f"rg_ht_{tid}").set_value(2.0)
    _button(at, "Apply to the draft").click().run()
    title = app_ctx_title(at, tid)
    message = shown(at.error[0].value)
    assert message == (
        f"“{title}”: the horizon is not accepted (the last month (2.0) must be after the first "
        "month (5.0)). To fix: set the horizon's last month after its first month (months after "
        "the brief)."
    )
    assert "threats." not in message and "Value error" not in message


# -- uploads -------------------------------------------------------------------------------------


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Record the facade calls the page makes (the real methods still run)."""
    calls: list[tuple[str, Any]] = []
    real_prepare, real_commit = Context.prepare_upload, Context.commit_upload

    def prepare_upload(
        self: Context,
        client_id: str,
        data: bytes,
        filename: str,
        kind: str,
        mapping: dict[str, str | None] | None = None,
        **kw: Any,
    ) -> Any:
        calls.append(("prepare", (client_id, filename, kind, mapping)))
        return real_prepare(self, client_id, data, filename, kind, mapping, **kw)

    def commit_upload(self: Context, client_id: str, prepared: Any, kind: Any, **kw: Any) -> Any:
        calls.append(("commit", (client_id, kind, kw.get("valid_only"))))
        return real_commit(self, client_id, prepared, kind, **kw)

    monkeypatch.setattr(Context, "prepare_upload", prepare_upload)
    monkeypatch.setattr(Context, "commit_upload", commit_upload)
    return calls


BAD_ROW_CSV = (
    b"asset_id,name,asset_type,lat,lon,city,country,value_usd,criticality,headcount,service_id,"
    b"mitigations\r\n"
    b"LON-01,London head office,office,51.5072,-0.1276,London,GBR,25000000,4,350,SVC-CORP,"
    b"backup_site\r\n"
    b"BAD-01,Broken site,office,95.5,200,Nowhere,GBR,1000,3,10,,\r\n"
)


def test_upload_flow_with_a_bad_row(
    signed_in: Signed, app_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy(monkeypatch)
    at = signed_in("meridian")
    at.switch_page("views/upload.py").run()
    assert not at.exception, at.exception
    uploader = uploader_of(at)
    uploader.upload("sites.csv", BAD_ROW_CSV, "text/csv").run()
    assert not at.exception, at.exception
    assert calls[0] == ("prepare", ("meridian-basin-petroleum", "sites.csv", "assets", None))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Rows": "2", "Accepted": "1", "Rejected": "1"}
    problems = next(d.value for d in at.dataframe if "problem" in d.value.columns)
    assert set(problems["row"]) == {3}
    preview = next(d.value for d in at.dataframe if "source_row" in d.value.columns)
    assert list(preview["asset_id"]) == ["LON-01"]
    assert "None" not in preview.astype(str).to_csv() and not preview.isna().any().any()
    assert "above 90" in " ".join(problems["problem"])
    assert [b.proto.label for b in at.get("download_button")][-2:] == [
        "Download the report (CSV)",
        "Download the rejected rows (CSV)",
    ]
    at.radio(key="upload_choice").set_value("Load the valid row and leave out the 1 rejected row")
    at.button(key="upload_go").click().run()
    assert not at.exception, at.exception
    assert calls[-1] == ("commit", ("meridian-basin-petroleum", "assets", True))
    assert "Loaded 1 row as exposure version 2." in [s.value for s in at.success]
    after = app_ctx.rating(app_ctx.current_run().run_id, "meridian-basin-petroleum", scope=EVERYONE)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["New score"] == f"{after.score:.1f}"
    assert app_ctx.exposure_version("meridian-basin-petroleum") == 2
    assert "9 removed" in page_text(at) and "1 added" in page_text(at)
    versions = next(d.value for d in at.dataframe if "routes" in d.value.columns)
    assert list(versions["version"]) == [2, 1]
    assert list(versions["routes"]) == [5, 5]  # an asset upload keeps the client's routes
    upload = app_ctx.audit_entries(kind="exposures", limit=1)[0]
    assert (upload.user, upload.action, upload.document, upload.version) == (
        "meridian",
        "publish",
        "exposures meridian-basin-petroleum",
        2,
    )
    # roll back to the first version: only with a note saying why
    at.selectbox(key="upload_rb_v").set_value(1)
    next(b for b in at.button if b.label == "Roll back").click().run()
    assert "Write a note saying why you roll back." in [e.value for e in at.error]
    assert app_ctx.exposure_version("meridian-basin-petroleum") == 2
    at.text_input(key="upload_rb_note").input("the new list was incomplete")
    next(b for b in at.button if b.label == "Roll back").click().run()
    assert app_ctx.exposure_version("meridian-basin-petroleum") == 1
    entry = app_ctx.audit_entries(kind="exposures", limit=1)[0]
    assert (entry.user, entry.action, entry.version, entry.note) == (
        "meridian",
        "rollback",
        1,
        "the new list was incomplete",
    )


def test_upload_load_nothing_changes_nothing(
    signed_in: Signed, app_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy(monkeypatch)
    at = signed_in("meridian")
    at.switch_page("views/upload.py").run()
    uploader_of(at).upload("sites.csv", BAD_ROW_CSV, "text/csv").run()
    at.radio(key="upload_choice").set_value("Load nothing")
    at.button(key="upload_go").click().run()
    assert "Nothing was loaded." in [i.value for i in at.info]
    assert [c[0] for c in calls] == ["prepare"]
    assert app_ctx.exposure_version("meridian-basin-petroleum") == 1


def test_account_manager_uploads_only_for_clients_in_the_book(
    signed_in: Signed, app_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.auth import add_user

    calls = _spy(monkeypatch)
    add_user(app_ctx, "bea", "bea-password-1", "account_manager", book=["andes-verde-agro"])
    from .conftest import new_app, sign_in

    at = sign_in(new_app(), "bea", "bea-password-1")
    at.query_params["client"] = "meridian-basin-petroleum"
    at.switch_page("views/upload.py").run()
    assert at.selectbox(key="upload_client").value == "andes-verde-agro"
    uploader_of(at).upload("sites.csv", BAD_ROW_CSV, "text/csv").run()
    assert calls[0][1][0] == "andes-verde-agro"


def _edit(at: AppTest, key: str, rows: dict[int, dict[str, object]]) -> None:
    """What the browser's table editor sends for edited cells."""
    at.session_state[key] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    at.run()


def test_rules_tables_are_validated_as_you_type(signed_in: Signed, app_ctx: Context) -> None:
    at = signed_in("analyst")
    at.switch_page("views/rules.py").run()
    cyber = app_ctx.rules().categories.index("cyber_attack")
    _edit(at, "rules_vulnerability.assets_0", {cyber: {"data_centre": 1.7}})
    assert [shown(e.value) for e in at.error] == [
        "draft rules, vulnerability.assets.values.cyber_attack.data_centre: 1.7 is above 1.0 "
        "(allowed 0..1)"
    ]
    _edit(at, "rules_vulnerability.assets_0", {cyber: {"data_centre": None}})
    assert "vulnerability.assets.values.cyber_attack.data_centre: the cell is empty" in (
        shown(at.error[0].value)
    )
    _edit(at, "rules_vulnerability.assets_0", {cyber: {"data_centre": 0.2}})
    bands = [b.band for b in app_ctx.rules().bands]
    _edit(at, "rules_bands_0", {bands.index("B"): {"min_score": 95.0}})
    assert "bands: min_score must fall from A to the last band" in shown(at.error[0].value)
    _edit(at, "rules_bands_0", {bands.index("B"): {"min_score": 78.0}})
    settings = list(at.session_state["rules_draft"].doc["aggregation"])  # the document is there
    assert "worst_item_weight" in settings
    from app.drafts import SETTINGS

    _edit(at, "rules_settings_0", {SETTINGS.index("targeting.collateral_factor"): {"value": 0.5}})
    assert not at.error
    diff = next(d.value for d in at.dataframe if "key" in d.value.columns)
    assert sorted(diff["key"]) == [
        "bands.B.min_score",
        "targeting.collateral_factor",
        "vulnerability.assets.cyber_attack.data_centre",
    ]
    assert "The draft is valid: 3 change(s)." in [s.value for s in at.success]


ONE_NEW_CSV = (
    b"asset_id,name,asset_type,city,country,value_usd,criticality\r\n"
    b"NEW-01,Muscat office,office,Muscat,Oman,2500000,2\r\n"
)


def test_upload_upsert_previews_counts_and_rating_before_loading(
    signed_in: Signed, app_ctx: Context
) -> None:
    client = "meridian-basin-petroleum"
    before = app_ctx.rating(app_ctx.current_run().run_id, client, scope=EVERYONE)
    at = signed_in("meridian")
    at.switch_page("views/upload.py").run()
    at.radio(key="upload_mode").set_value("upsert").run()
    uploader_of(at).upload("one.csv", ONE_NEW_CSV, "text/csv").run()
    assert not at.exception, at.exception
    preview = next(i.value for i in at.info if i.value.startswith("If loaded:"))
    assert preview.startswith(
        f"If loaded: 1 added, 0 updated, 0 removed; 10 assets after; rating {before.band} "
        f"{before.score:.1f} -> "
    )
    assert app_ctx.exposure_version(client) == 1  # the preview stored nothing
    at.button(key="upload_go").click().run()
    assert "Loaded 1 row as exposure version 2." in [s.value for s in at.success]
    assert (
        app_ctx.store.one(
            "SELECT count(*) FROM assets WHERE client_id = $c AND version = 2", {"c": client}
        )
        == 10
    )


FAR_LANES = (
    b"Lane,From port,To port,Cargo,Annual value (USD),Voyages per year\r\n"
    b'BOT-RTM,Basra Oil Terminal,NLRTM,crude,"2,400,000,000",18\r\n'
    b'BGW-RTM,"33.31, 44.36",NLRTM,crude,"100,000,000",3\r\n'
)


def test_a_route_note_is_shown_with_its_row_before_loading(signed_in: Signed) -> None:
    at = signed_in("meridian")
    at.switch_page("views/upload.py").run()
    at.radio(key="upload_kind").set_value("routes").run()
    uploader_of(at).upload("lanes.csv", FAR_LANES, "text/csv").run()
    assert not at.exception, at.exception
    problems = next(d.value for d in at.dataframe if "problem" in d.value.columns)
    assert list(problems["row"]) == [3]
    assert list(problems["column"]) == ["origin"]
    assert (
        "(route BGW-RTM): 33.3100, 44.3600 is 496 km from the nearest sea lane"
        in problems["problem"][0]
    )


def test_a_draft_overtaken_by_another_publish_is_refused_and_can_start_again(
    signed_in: Signed, app_ctx: Context
) -> None:
    at = signed_in("analyst")
    at.switch_page("views/rules.py").run()
    change_weight(at, "targeting.sector_sensitivity", "cyber_attack", "banking", 0.5)
    # meanwhile another analyst publishes rules version 2
    rules = app_ctx.rules()
    other = rules.model_copy(update={"version": rules.version + "-other"})
    app_ctx.publish_rules(other, "another analyst's change", by="admin")
    assert app_ctx.rules_version() == 2
    at.run()
    warned = " ".join(w.value for w in at.warning)
    assert (
        "The published rules moved to version 2 since this draft began: publishing it is "
        "refused until it starts again from version 2." in warned
    ), warned
    at.button(key="rules_preview").click().run()
    at.text_input(key="rules_note").input("banks less exposed")
    _button(at, "Publish these rules").click().run()
    assert app_ctx.rules_version() == 2  # refused: nothing published
    refusal = " ".join(e.value for e in at.error)
    assert "admin" in refusal and "another analyst's change" in refusal, refusal
    _button(at, "Start the draft again from version 2").click().run()
    assert not any("since this draft began" in w.value for w in at.warning)
    assert not at.exception
