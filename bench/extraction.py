"""What reading a normal attached file costs, in the page's process (before) and in a bounded
child (after, chatpage/data/extraction.py), same run, same files.

Two ordinary documents: a 20-page PDF (40 lines of text a page) and a 50-page DOCX (page
breaks between pages of 12 paragraphs, about 150,000 characters). Each is read (a) in this
process, as the page did before (`attachments.read`), and (b) through `read_bounded`, which
forks a child from a warm forkserver, limits it, reads there and sends back the text; the
two alternate, run after run. Reported per file and way: median (min to max) of the wall
time, and of this process's own CPU time (for (b), what the page's process still pays: the
fork request, sending the bytes, receiving the text). Reading is not capped by the message
limit here, so each file is read whole.

`--as-page` makes this process's main script app.py, as `streamlit run` (and AppTest) does, so
that a child that ran its parent's main script before reading would show it here.

    python bench/extraction.py [--runs 15] [--as-page]
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatpage.data import extraction
from chatpage.data.attachments import Upload, read
from testkit.files import _pdf

LINE = "Quarterly figures for the northern region rose by four percent over the last year"


def pdf_of(pages: int, lines: int = 40) -> bytes:
    """A PDF of `pages` pages of `lines` lines of text each (one content stream a page)."""
    count = pages
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
    font = 3 + 2 * count
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
    ]
    for page in range(count):
        shown = "".join(
            f"BT /F1 10 Tf 40 {760 - 18 * n} Td (Page {page + 1} line {n + 1}: {LINE}) Tj ET\n"
            for n in range(lines)
        ).encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {4 + 2 * page} 0 R >>".encode()
        )
        objects.append(f"<< /Length {len(shown)} >>\nstream\n".encode() + shown + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return _pdf(objects)


def docx_of(pages: int, paragraphs: int = 12) -> bytes:
    """A Word document of `pages` pages (page breaks) of `paragraphs` paragraphs, a table each
    tenth page."""
    from docx import Document
    from docx.enum.text import WD_BREAK

    document = Document()
    for page in range(pages):
        document.add_heading(f"Section {page + 1}", level=2)
        for n in range(paragraphs):
            document.add_paragraph(f"Paragraph {n + 1}. {LINE}, {LINE.lower()}; and more.")
        if page % 10 == 9:
            table = document.add_table(rows=5, cols=3)
            for r in range(5):
                for c in range(3):
                    table.cell(r, c).text = f"r{r} c{c}"
        document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def timed(read_once: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    read_once()
    return time.perf_counter() - wall, time.process_time() - cpu


def spread(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):.1f} ({min(ms):.1f}–{max(ms):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--as-page", action="store_true", help="app.py as the main script")
    args = parser.parse_args()
    if args.as_page:  # what Streamlit's script runner leaves as `__main__`
        page = types.ModuleType("__main__")
        page.__file__ = str(Path(__file__).resolve().parent.parent / "app.py")
        sys.modules["__main__"] = page

    files = {
        "20-page PDF": Upload("report.pdf", pdf_of(20)),
        "50-page DOCX": Upload("report.docx", docx_of(50)),
    }
    extraction.read_bounded(Upload("warm.txt", b"warm"))  # the fork server's imports, once
    print(f"python {platform.python_version()}, {args.runs} runs each, ms: median (min–max)")
    print("| file | size | characters | way | wall ms | page process CPU ms |")
    print("|---|---:|---:|---|---:|---:|")
    for label, upload in files.items():
        characters = len(read(upload).text)
        ways: dict[str, Callable[[], object]] = {
            "in the page's process (before)": lambda u=upload: read(u),
            "bounded child (after)": lambda u=upload: extraction.read_bounded(u),
        }
        results: dict[str, tuple[list[float], list[float]]] = {w: ([], []) for w in ways}
        for _ in range(args.runs):
            for way, read_once in ways.items():
                wall, cpu = timed(read_once)
                results[way][0].append(wall)
                results[way][1].append(cpu)
        size = f"{len(upload.data) / 1024:.0f} KB"
        for way, (walls, cpus) in results.items():
            print(
                f"| {label} | {size} | {characters:,} | {way} | {spread(walls)} | {spread(cpus)} |"
            )


if __name__ == "__main__":
    main()
