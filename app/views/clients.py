"""Clients: create a client, change its details and services, remove it with its data.

For account managers (the clients of their book; a client they create joins it) and admins.
Every change goes through ``engine.clients`` and is written to the audit log, shown below.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from app import data, session, ui
from engine.clients import (
    _UNSET,
    add_client,
    audit_entries,
    edit_client,
    removal_counts,
    remove_client,
)
from engine.errors import ResilienceError
from engine.models import Service

FLASH = "clients_flash"  # what the last action did, shown after the page reruns
SERVICE_COLUMNS = {"service_id": pl.String, "name": pl.String, "tolerance_days": pl.Float64}


def _services(frame: Any) -> list[Service]:
    out = []
    for i, rec in enumerate(frame.to_dict("records"), start=1):
        sid = str(rec.get("service_id") or "").strip()
        name = str(rec.get("name") or "").strip()
        days = rec.get("tolerance_days")
        if not sid and not name:
            continue
        try:
            tolerance = float(days)
        except (TypeError, ValueError):
            tolerance = -1.0
        if not sid or not name or not tolerance > 0:
            raise ResilienceError(
                f"service row {i}: give an id, a name and an impact tolerance in days above 0"
            )
        out.append(Service(service_id=sid, name=name, tolerance_days=tolerance))
    return out


def _service_editor(key: str, services: list[Service]) -> Any:
    rows = [s.model_dump() for s in services]
    frame = pl.DataFrame(rows, schema=SERVICE_COLUMNS)
    return st.data_editor(
        frame.to_pandas(),
        key=key,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "service_id": st.column_config.TextColumn("service id", help="e.g. payments"),
            "name": st.column_config.TextColumn("important business service"),
            "tolerance_days": st.column_config.NumberColumn(
                "impact tolerance (days)", min_value=0.1, step=0.5
            ),
        },
    )


def new_client(user: session.AppUser) -> None:
    ctx = data.context()
    rules = ctx.rules()
    with st.expander("New client", expanded=False), st.form("client_new"):
        c1, c2 = st.columns(2)
        client_id = c1.text_input("Client id", help="lower-case letters, digits and hyphens")
        name = c2.text_input("Name")
        sector = c1.selectbox("Sector", list(rules.sectors), key="client_new_sector")
        hq = c2.text_input("Home country", help="an ISO code (GBR) or a name")
        affiliations = c1.multiselect("Affiliations", list(rules.affiliations))
        value = c2.number_input(
            "Business value (USD, 0 = not given)", min_value=0.0, step=1e6, format="%.0f"
        )
        st.caption("Important business services and their impact tolerances")
        services = _service_editor("client_new_services", [])
        if st.form_submit_button("Create client", type="primary"):
            with ui.errors_shown():
                spec = add_client(
                    ctx,
                    client_id.strip(),
                    name=name,
                    sector=str(sector),
                    hq=hq,
                    affiliations=list(affiliations),
                    business_value_usd=value or None,
                    services=_services(services),
                    actor=user.username,
                    book_of=user.username if user.role == "account_manager" else None,
                )
            st.cache_data.clear()  # ratings are cached by run; the next run sees the change
            st.session_state[FLASH] = f"Created client {ui.plain(spec.client_id)}."
            st.session_state["clients_client"] = spec.client_id
            st.rerun()


def edit(user: session.AppUser, client_id: str) -> None:
    ctx = data.context()
    rules = ctx.rules()
    with ui.errors_shown():
        spec = ctx.client(client_id, user.scope)
    st.subheader("Details")
    with st.form(f"client_edit_{client_id}"):
        c1, c2 = st.columns(2)
        name = c1.text_input("Name", value=spec.name)
        sectors = list(rules.sectors)
        sector = c2.selectbox(
            "Sector",
            sectors,
            index=sectors.index(spec.sector) if spec.sector in sectors else 0,
        )
        hq = c1.text_input("Home country", value=spec.hq_country)
        affiliations = c2.multiselect(
            "Affiliations", list(rules.affiliations), default=list(spec.affiliations)
        )
        value = c1.number_input(
            "Business value (USD, 0 = not given)",
            min_value=0.0,
            value=float(spec.business_value_usd or 0.0),
            step=1e6,
            format="%.0f",
        )
        st.caption("Important business services and their impact tolerances")
        services = _service_editor(f"client_services_{client_id}", spec.services)
        if st.form_submit_button("Save changes", type="primary"):
            with ui.errors_shown():
                edit_client(
                    ctx,
                    client_id,
                    name=name,
                    sector=str(sector),
                    hq=hq,
                    affiliations=list(affiliations),
                    business_value_usd=(value or None)
                    if (value or None) != spec.business_value_usd
                    else _UNSET,
                    services=_services(services),
                    actor=user.username,
                )
            st.cache_data.clear()  # ratings are cached by run; the next run sees the change
            st.success("Saved.")


def remove(user: session.AppUser, client_id: str) -> None:
    ctx = data.context()
    with ui.errors_shown():
        counts = removal_counts(ctx, client_id)
    with st.expander("Remove this client"):
        st.warning(
            f"Removing {ui.plain(client_id)} deletes {counts['versions']} exposure version(s) "
            f"({counts['assets']} asset and {counts['routes']} route rows), its results and "
            f"{counts['users']} client user(s). This cannot be undone."
        )
        with st.form(f"client_remove_{client_id}"):
            typed = st.text_input("Type the client id to confirm")
            if st.form_submit_button("Remove client and its data"):
                with ui.errors_shown():
                    remove_client(ctx, client_id, confirm=typed.strip(), actor=user.username)
                st.cache_data.clear()  # ratings are cached by run; the next run sees the change
                st.success(f"Removed {ui.plain(client_id)} and all its data.")
                st.stop()


def audit(user: session.AppUser, client_id: str) -> None:
    ctx = data.context()
    st.subheader("Audit log")
    entries = audit_entries(ctx, client_id)
    if not entries:
        st.caption("No change recorded for this client yet.")
        return
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "when": e.at.strftime("%Y-%m-%d %H:%M:%S"),
                    "who": e.actor,
                    "what": e.action,
                    "detail": ", ".join(sorted(e.detail)),
                }
                for e in entries
            ]
        ),
        hide_index=True,
        width="stretch",
    )


def main() -> None:
    ctx = data.context()
    user = session.require(ctx, "account_manager", "admin")
    st.title(
        "Clients",
        help="Add a client to your book, correct its details, or remove it with all its data.",
    )
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.success(flash)
    new_client(user)
    client_id = ui.pick_client(user, key="clients_client", label="Client")
    if client_id is None:
        return
    user.scope.require(client_id)
    edit(user, client_id)
    remove(user, client_id)
    audit(user, client_id)


if __name__ == "__main__":
    main()
