"""The rating method written the way a peer would write it, for bench/book.py to compare against.

Each peer reads the same book files (``assets.parquet``, ``routes.parquet``) and the method's
inputs as flat files in ``method/`` (reference.py says which), places every site itself
(nearest city for the subdivision, great-circle distance to hotspots, point-in-polygon for sea
zones), scores every item against every threat and aggregates per client, and writes
``ratings.parquet``. They share no code with the product beyond those files.
"""
