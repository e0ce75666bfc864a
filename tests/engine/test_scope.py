"""Deny by default: every facade method that reads or changes client data needs the caller's
scope; a call without one fails with words and returns nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.context import EVERYONE, Context
from engine.errors import AccessDenied
from engine.store import Scope

CLIENT = "meridian-basin-petroleum"
MESSAGE = (
    "no scope given: say which clients this call may see (the user's scope, or "
    "Scope.everything() for a trusted job)"
)


def test_a_call_without_a_scope_is_refused(demo_ctx: Context) -> None:
    run = demo_ctx.current_run().run_id
    calls: list[Callable[[], Any]] = [
        lambda: demo_ctx.clients(),
        lambda: demo_ctx.client(CLIENT),
        lambda: demo_ctx.ratings(run),
        lambda: demo_ctx.rating(run, CLIENT),
        lambda: demo_ctx.explain(CLIENT, run),
        lambda: demo_ctx.compare_runs(run, run),
        lambda: demo_ctx.compare_scenario("hormuz-closed"),
        lambda: demo_ctx.exposure_history(CLIENT),
        lambda: demo_ctx.diff_versions(CLIENT, 1, 1),
        lambda: demo_ctx.rollback_exposures(CLIENT, 1, note="n", by="x"),
    ]
    for call in calls:
        with pytest.raises(AccessDenied) as refused:
            call()
        assert str(refused.value) == MESSAGE


def test_an_explicit_scope_sees_what_it_names(demo_ctx: Context) -> None:
    run = demo_ctx.current_run().run_id
    assert len(demo_ctx.ratings(run, EVERYONE)) == 10
    assert [r.client_id for r in demo_ctx.ratings(run, Scope.of(CLIENT))] == [CLIENT]
    assert demo_ctx.ratings(run, Scope.of()) == []
    with pytest.raises(AccessDenied, match="^client 'meridian-basin-petroleum' is not available"):
        demo_ctx.rating(run, CLIENT, Scope.of("aurelian-airways"))
