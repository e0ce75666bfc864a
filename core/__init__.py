"""The product's core: what every layer may import and which imports nothing of the product.

``core.errors`` holds the one exception tree; ``exposures``, ``scoring_rules``, ``engine`` and
``app`` import it, and it imports none of them (tests/test_imports.py checks both).
"""
