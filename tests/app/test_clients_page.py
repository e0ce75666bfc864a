"""The account manager's Clients page: create, edit and remove a client, with audit entries."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from engine.clients import audit_entries
from engine.context import EVERYONE, Context

Signed = Callable[[str], AppTest]


def _submit(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return at.run()


def test_account_manager_creates_edits_and_removes_a_client(
    signed_in: Signed, app_ctx: Context
) -> None:
    at = signed_in("am")
    at.switch_page("views/clients.py").run()
    assert not at.exception, at.exception
    inputs: dict[str, object] = {}
    for t in at.text_input:  # the new-client form comes first
        inputs.setdefault(t.label, t)
    for label, value in (
        ("Client id", "gulfstar-energy"),
        ("Name", "Gulfstar Energy"),
        ("Home country", "United States"),
    ):
        inputs[label].input(value)  # type: ignore[attr-defined]
    at.multiselect[0].set_value(["US"])
    _submit(at, "Create client")
    assert not at.exception, at.exception
    assert "Created client gulfstar\\-energy." in [s.value for s in at.success]
    spec = app_ctx.client("gulfstar-energy", scope=EVERYONE)
    assert (spec.name, spec.hq_country, spec.affiliations) == ("Gulfstar Energy", "USA", ["US"])
    # the new client is in the account manager's book, and the page shows it
    assert at.selectbox(key="clients_client").value == "gulfstar-energy"
    name = [t for t in at.text_input if t.label == "Name"][-1]  # the details form, below
    assert name.value == "Gulfstar Energy"
    name.input("Gulfstar Energy Inc.")
    _submit(at, "Save changes")
    assert app_ctx.client("gulfstar-energy", scope=EVERYONE).name == "Gulfstar Energy Inc."
    # a wrong confirmation removes nothing
    confirm = next(t for t in at.text_input if t.label == "Type the client id to confirm")
    confirm.input("gulfstar")
    _submit(at, "Remove client and its data")
    assert any("confirm by typing the client id" in e.value for e in at.error)
    assert app_ctx.client("gulfstar-energy", scope=EVERYONE).name == "Gulfstar Energy Inc."
    confirm = next(t for t in at.text_input if t.label == "Type the client id to confirm")
    confirm.input("gulfstar-energy")
    _submit(at, "Remove client and its data")
    assert "Removed gulfstar\\-energy and all its data." in [s.value for s in at.success]
    assert [
        c.client_id for c in app_ctx.clients(scope=EVERYONE) if c.client_id == "gulfstar-energy"
    ] == []
    entries = audit_entries(app_ctx, "gulfstar-energy")
    assert [(e.actor, e.action) for e in entries] == [
        ("am", "client.add"),
        ("am", "client.edit"),
        ("am", "client.remove"),
    ]
