"""The SQL of the book: clients, their services and exposure versions, the sea-route cache.

Each query names what it reads and writes. Values are bound parameters ($name); the client
filter spliced into ``clients_sql`` is a ``Scope``'s own SQL (engine/store.py), never user text.
"""

from __future__ import annotations


def clients_sql(where: str) -> str:
    """Reads: clients. Produces: the clients the scope filter ``where`` lets through."""
    return (
        "SELECT c.client_id, c.name, c.sector, c.hq_country, c.affiliations, c.description, "  # noqa: S608
        f"c.business_value_usd FROM clients c WHERE {where} ORDER BY c.client_id"
    )


# Reads: services. Produces: every client's important business services.
SERVICES = "SELECT client_id, service_id, name, tolerance_days FROM services ORDER BY 1, 2"

# Reads: clients. Produces: when client $c was first created (kept when it is replaced).
CLIENT_CREATED = "SELECT created_at FROM clients WHERE client_id = $c"

# Writes: clients and services (client $c's rows removed, before they are written again).
DELETE_CLIENT = "DELETE FROM clients WHERE client_id = $c"
DELETE_SERVICES = "DELETE FROM services WHERE client_id = $c"

# Writes: clients (one client; its first creation time kept as $made).
INSERT_CLIENT = (
    "INSERT INTO clients VALUES ($c, $name, $sector, $hq, $aff, $desc, coalesce($made, now()), $bv)"
)

# Writes: services (one important business service of client $c).
INSERT_SERVICE = "INSERT INTO services VALUES ($c, $s, $n, $t)"

# Reads: route_cache. Produces: the stored sea route of key $k.
ROUTE = "SELECT info FROM route_cache WHERE route_key = $k"

# Writes: route_cache (a route computed once; a route another session stored first stays).
STORE_ROUTE = "INSERT OR IGNORE INTO route_cache VALUES ($k, $info, now())"

# Reads: exposure_current. Produces: client $c's current exposure version.
CURRENT_VERSION = "SELECT version FROM exposure_current WHERE client_id = $c"

# Reads: exposure_versions. Produces: whether client $c's version $v is stored already.
VERSION_TAKEN = "SELECT count(*) FROM exposure_versions WHERE client_id = $c AND version = $v"

# Writes: exposure_versions (client $c's version $v, with its note, source and item counts).
INSERT_VERSION = "INSERT INTO exposure_versions VALUES ($c, $v, now(), $note, $src, $na, $nr)"

# Writes: exposure_current (client $c's version $v is current).
SET_CURRENT = "INSERT OR REPLACE INTO exposure_current VALUES ($c, $v)"
