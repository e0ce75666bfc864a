"""Whose data a call may see: the deny-by-default scope of the facade.

Every ``Context`` method that reads or changes client data takes a ``scope``. Its default,
``REQUIRED``, refuses the call with words; a trusted job (the CLI, a benchmark) passes
``EVERYONE``, a signed-in user their own scope (engine/auth).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import AccessDenied
from engine.store import Scope

EVERYONE = Scope.everything()


@dataclass(frozen=True)
class _NoScope(Scope):
    """The default of every facade method that reads or changes client data: deny by default.

    A call that does not say whose data it may see fails, with words; a trusted job (the CLI,
    a benchmark) passes ``EVERYONE`` (``Scope.everything()``), a signed-in user their own scope.
    """

    def _refuse(self) -> AccessDenied:
        return AccessDenied(
            "no scope given: say which clients this call may see (the user's scope, or "
            "Scope.everything() for a trusted job)"
        )

    def allows(self, client_id: str) -> bool:
        raise self._refuse()

    def require(self, client_id: str) -> None:
        raise self._refuse()

    def sql(self, column: str = "client_id") -> tuple[str, list[str] | None]:
        raise self._refuse()


REQUIRED: Scope = _NoScope(frozenset())
