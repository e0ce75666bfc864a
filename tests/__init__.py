import os

# Tests check each file in a sandbox child of their own process (as before the checker service):
# a service per temporary store folder would outlive the tests. The checker service's own tests
# (tests/exposures/upload/test_checker.py) and the benchmark turn it on.
os.environ.setdefault("RESILIENCE_CHECKER", "local")
