"""What an upload check tells the client: file-level errors, row-level problems, counts.

Every problem names the row in the user's file (header row = row 1), the column (the user's header
and the canonical name), the value as it was in the file, what is wrong and what would be accepted.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.errors import UploadRefused as UploadRefused  # defined in core.errors, raised from here

VALUE_REPR_MAX = 80
MAX_PROBLEMS = 10_000
"""Problems kept in a report; the rest are counted in ``problems_truncated`` (the quarantine file
still names the error of every rejected row)."""


def value_repr(value: object) -> str:
    """``repr`` of a cell value, cut to 80 characters."""
    text = repr(value)
    if len(text) > VALUE_REPR_MAX:
        text = text[: VALUE_REPR_MAX - 3] + "..."
    return text


class Problem(BaseModel):
    """One thing wrong (or, as a warning, changed) in one cell of the user's file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    row: int = Field(description="row number in the user's file; the header is row 1")
    column: str = Field(description="canonical column name, e.g. lat")
    header: str | None = Field(description="the user's header for the column, if the file has it")
    value: str = Field(description="repr of the cell as it was in the file, at most 80 characters")
    message: str = Field(description="what is wrong")
    accepted: str = Field(description="what would be accepted")
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"row {self.row}, column "
        if self.header is not None and self.header != self.column:
            where += f"{self.header!r} ({self.column})"
        else:
            where += self.column
        return f"{where}: {self.value} {self.message}; accepted: {self.accepted}"


class ValidationReport(BaseModel):
    """The outcome of checking one uploaded file."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    filename: str = Field(description="the file name as given, made safe to display")
    format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    headers: list[str] = Field(
        default_factory=list, description="every header of the file, in order (mapped or not)"
    )
    columns: dict[str, str] = Field(
        default_factory=dict, description="user's header -> canonical column, as mapped"
    )
    suggestions: dict[str, str] = Field(
        default_factory=dict,
        description="header -> the column it probably means, for headers that were not mapped",
    )
    value_suggestions: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="column -> {value in the file: accepted value it probably means}; confirm "
        "with a value map",
    )
    number_format: str | None = Field(
        default=None, description="the decimal and thousands separators detected in the file"
    )
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    file_errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)
    problems_truncated: int = Field(
        default=0, description=f"problems left out after the first {MAX_PROBLEMS:,}"
    )

    @property
    def ok(self) -> bool:
        """True when the file could be read and mapped (rows may still have been rejected)."""
        return not self.file_errors

    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def lines(self) -> list[str]:
        """Every file error, warning and problem as one line of text, for a CLI or a log."""
        out = [f"Error: {e}" for e in self.file_errors]
        out += [f"Warning: {w}" for w in self.warnings]
        out += [("Warning: " if p.severity == "warning" else "") + str(p) for p in self.problems]
        if self.problems_truncated:
            out.append(
                f"... and {self.problems_truncated:,} more problems (see the quarantine file)"
            )
        return out
