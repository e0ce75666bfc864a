"""Client uploads: bytes -> validated canonical frames and a row-level report.

- ``readers``: sniff and read CSV / XLSX / Parquet into strings, refusing hostile files
- ``mapping``: user headers -> canonical columns; templates and column docs
- ``convert`` / ``validate``: typed columns, the Great Expectations suites, problems
- ``pipeline.check_upload``: the pure pipeline (in-process)
- ``sandbox.prepare_upload``: the same in a child process with memory and time limits; the
  only entry point the server uses on untrusted bytes

Nothing heavy is imported here, so the sandbox child starts lean.
"""
