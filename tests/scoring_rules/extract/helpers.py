"""Shared helpers for the extractor tests: paths to the briefs, a minimal PDF writer."""

from __future__ import annotations

from pathlib import Path

from tests.seed import seed_path

ROOT = Path(__file__).resolve().parents[3]
BRIEFS = ROOT / "tests" / "scoring_rules" / "briefs"
SEED = seed_path()


def brief_files() -> list[Path]:
    return sorted(p for p in BRIEFS.iterdir() if p.suffix in (".md", ".txt", ".html"))


def make_pdf(lines: list[str]) -> bytes:
    """A one-page PDF (Helvetica) with one text line per item: enough for pypdf to read back."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    body = " ".join(f"({esc(line)}) Tj T*" for line in lines)
    content = f"BT /F1 11 Tf 14 TL 72 760 Td {body} ET"
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out
