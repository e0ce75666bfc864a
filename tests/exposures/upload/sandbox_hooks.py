"""Pipelines that misbehave, run by the sandbox child in the tests (importable by name)."""

from __future__ import annotations

import ctypes
import os
import time

from exposures.upload.pipeline import PreparedUpload


def exits(*args: object, **kwargs: object) -> PreparedUpload:
    os._exit(3)


def allocates(*args: object, **kwargs: object) -> PreparedUpload:
    hog = []
    while True:
        hog.append(bytearray(64 * 1024 * 1024))


def native_allocates(*args: object, **kwargs: object) -> PreparedUpload:
    """Touch memory from native code, as a parser bug would (the watchdog must stop it)."""
    blocks = []
    while True:
        size = 64 * 1024 * 1024
        block = ctypes.create_string_buffer(size)
        ctypes.memset(block, 1, size)
        blocks.append(block)


def sleeps(*args: object, **kwargs: object) -> PreparedUpload:
    time.sleep(600)
    raise AssertionError("not reached")


def segfaults(*args: object, **kwargs: object) -> PreparedUpload:
    ctypes.string_at(0)
    raise AssertionError("not reached")


def raises(*args: object, **kwargs: object) -> PreparedUpload:
    raise KeyError("a bug in the reader")


def reads_a_file(*args: object, **kwargs: object) -> PreparedUpload:
    """Open a file of the system, as a reader led by a crafted file might."""
    with open("/etc/hostname", "rb") as f:
        f.read()
    raise AssertionError("not reached")


def writes_a_file(*args: object, **kwargs: object) -> PreparedUpload:
    with open(os.path.join(os.path.dirname(__file__), "written-by-the-checker.txt"), "w") as f:
        f.write("x")
    raise AssertionError("not reached")


def connects(*args: object, **kwargs: object) -> PreparedUpload:
    import socket

    socket.create_connection(("127.0.0.1", 9), timeout=1)
    raise AssertionError("not reached")


def starts_a_process(*args: object, **kwargs: object) -> PreparedUpload:
    import subprocess

    subprocess.run(["true"], check=False)
    raise AssertionError("not reached")


def lists_interfaces(*args: object, **kwargs: object) -> PreparedUpload:
    import socket

    raise RuntimeError(f"interfaces: {socket.if_nameindex()}")


NAP_S = 4.0


def naps(*args: object, **kwargs: object) -> PreparedUpload:
    """Check the file as the product does, after ``NAP_S`` seconds (a slow file, without CPU)."""
    from exposures.upload.pipeline import check_upload

    time.sleep(NAP_S)
    return check_upload(*args, **kwargs)  # type: ignore[arg-type]
