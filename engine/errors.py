"""One exception tree for the whole product.

Every error says where (file, key, row, column), what is wrong and how to fix it. The CLI turns
any ``ResilienceError`` into a red ``Error:`` line and exit code 1; the app shows it with
``st.error``.
"""

from __future__ import annotations


class ResilienceError(Exception):
    """Base of every error the product raises on purpose."""


class RuleError(ResilienceError):
    """A rules or register file is malformed or out of range."""


class ExposureError(ResilienceError):
    """Client exposure data (assets, routes, ports, places) cannot be used as given."""


class StoreError(ResilienceError):
    """The database cannot do what was asked (missing client, version, locked file...)."""


class ConflictError(StoreError):
    """Another session changed the same rows at the same moment; nothing was changed."""


class StoreBusy(StoreError):
    """Another program held the database for longer than this one would wait."""


class NotFoundError(StoreError):
    """A client, version, run or scenario that does not exist."""


class AccessDenied(ResilienceError):
    """The caller may not see or change what it asked for."""
