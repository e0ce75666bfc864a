"""Shared fixtures for the upload tests: the bad-file corpus and a one-call checker."""

from __future__ import annotations

from pathlib import Path

import pytest

from exposures.upload.pipeline import PreparedUpload, check_upload
from tests.exposures.badfiles.make_corpus import BINARY_FILES, TEXT_FILES, write_binary_files

BADFILES = Path(__file__).resolve().parents[1] / "badfiles"


def corpus_bytes(name: str, binary: dict[str, Path] | None = None) -> bytes:
    if name in TEXT_FILES:
        return (BADFILES / name).read_bytes()
    assert binary is not None and name in BINARY_FILES, name
    return binary[name].read_bytes()


def kind_of(name: str) -> str:
    return "routes" if "route" in name or "port" in name else "assets"


@pytest.fixture(scope="session")
def binary_corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The binary bad files (bombs, workbooks, Parquet), built once into a temporary folder."""
    return write_binary_files(tmp_path_factory.mktemp("badfiles"))


@pytest.fixture(scope="session")
def check(binary_corpus: dict[str, Path]):  # type: ignore[no-untyped-def]
    """check(name) -> PreparedUpload for a corpus file, run in-process."""

    def run(name: str, kind: str | None = None, **options: object) -> PreparedUpload:
        data = corpus_bytes(name, binary_corpus)
        return check_upload(data, name, kind or kind_of(name), **options)  # type: ignore[arg-type]

    return run
