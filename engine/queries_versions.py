"""The SQL of the published picture: pointers, stored document versions, the gazetteer.

Each query names what it reads and writes. Values are bound parameters ($name); the one
identifier spliced in (a document's table) comes from ``DOCUMENT_TABLES``, never from a caller.
"""

from __future__ import annotations

# Which stored version of a document is current (register, rules).
DOCUMENT_TABLES = {"register": "register_versions", "rules": "rules_versions"}

# Reads: pointers. Produces: the current version of document $n (none before it is published).
POINTER = "SELECT version FROM pointers WHERE name = $n"

# Writes: pointers (document $n now points at version $v).
SET_POINTER = "INSERT OR REPLACE INTO pointers VALUES ($n, $v)"


def document_sql(kind: str) -> str:
    """Reads: register_versions or rules_versions. Produces: version $v's stored JSON."""
    table = DOCUMENT_TABLES[kind]
    return f"SELECT document FROM {table} WHERE version = $v"  # noqa: S608


# Reads: gazetteer_versions. Produces: the version holding the file whose sha256 is $sha.
GAZETTEER_VERSION = "SELECT version FROM gazetteer_versions WHERE sha256 = $sha"

# Writes: gazetteer_versions (the next version, with the file's text $doc and its $sha).
STORE_GAZETTEER = (
    "INSERT INTO gazetteer_versions SELECT coalesce(max(version), 0) + 1, now(), $sha, $doc "
    "FROM gazetteer_versions"
)

# Writes: regions (emptied, before the gazetteer's regions are inserted again).
CLEAR_REGIONS = "DELETE FROM regions"
