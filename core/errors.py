"""One exception tree for the whole product.

Every error says where (file, key, row, column), what is wrong and how to fix it. The CLI turns
any ``ResilienceError`` into a red ``Error:`` line and exit code 1; the app shows it with
``st.error``. This module imports nothing of the product, so the lower layers (``exposures``,
``scoring_rules``) raise the same errors as the engine without importing it. The names stay
importable from where they were defined before (``engine.errors``, ``engine.auth``,
``engine.clients``, ``engine.report.errors``, ``exposures.upload.report``,
``scoring_rules.extract.document``).

    ResilienceError
    ├── RuleError            a rules, register or scenario document is malformed or out of range
    ├── ExposureError        client exposure data cannot be used as given
    │   ├── UploadRefused    an uploaded file as a whole cannot be used
    │   └── CheckerBusy      every upload checker is busy with other files: try again soon
    ├── StoreError           the database cannot do what was asked
    │   ├── ConflictError    another session changed the same rows at the same moment
    │   │   └── StaleDraft   a draft's published base moved on before it was published
    │   └── NotFoundError    a client, version, run or scenario that does not exist
    ├── AccessDenied         the caller may not see or change what it asked for
    ├── AuthError            a user cannot be created or changed as asked
    │   └── ClaimsRefused    an identity provider's claims make no user of this product
    ├── ClientError          a client cannot be created, changed or removed as asked
    ├── ReportError          a report or export cannot be produced or written as asked
    └── ExtractError         a brief cannot be read, or a draft reviewed or published
"""

from __future__ import annotations


class ResilienceError(Exception):
    """Base of every error the product raises on purpose."""


class RuleError(ResilienceError):
    """A rules or register file is malformed or out of range."""


class ExposureError(ResilienceError):
    """Client exposure data (assets, routes, ports, places) cannot be used as given."""


class UploadRefused(ExposureError):
    """The file as a whole cannot be used; ``errors`` holds one message per problem found."""

    def __init__(self, errors: str | list[str], warnings: list[str] | None = None) -> None:
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        self.warnings = list(warnings or [])
        super().__init__("; ".join(self.errors))


class CheckerBusy(ExposureError):
    """Every sandboxed upload checker stayed busy with other files for as long as a caller
    waits for one; nothing was checked or changed, and the same file can be sent again."""


class StoreError(ResilienceError):
    """The database cannot do what was asked (missing client, version, locked file...)."""


class ConflictError(StoreError):
    """Another session changed the same rows at the same moment; nothing was changed."""


class StaleDraft(ConflictError):
    """A draft started from a version that is no longer the published one; nothing was
    published. ``base`` is the version it started from, ``current`` the published one now."""

    def __init__(self, message: str, *, base: int, current: int | None) -> None:
        self.base = base
        self.current = current
        super().__init__(message)


class StoreBusy(StoreError):
    """Another program held the database for longer than this one would wait."""


class NotFoundError(StoreError):
    """A client, version, run or scenario that does not exist."""


class AccessDenied(ResilienceError):
    """The caller may not see or change what it asked for."""


class AuthError(ResilienceError):
    """A user cannot be created or changed as asked."""


class ClaimsRefused(AuthError):
    """The identity provider's claims do not make a user this product can sign in."""


class ClientError(ResilienceError):
    """A client cannot be created, changed or removed as asked."""


class ReportError(ResilienceError):
    """A report or export cannot be produced or written as asked (format, path...)."""


class ExtractError(ResilienceError):
    """A brief cannot be read, or a draft cannot be reviewed or published as asked."""


__all__ = [
    "AccessDenied",
    "AuthError",
    "ClaimsRefused",
    "ClientError",
    "ConflictError",
    "ExposureError",
    "ExtractError",
    "NotFoundError",
    "ReportError",
    "ResilienceError",
    "RuleError",
    "StoreBusy",
    "StoreError",
    "UploadRefused",
]
