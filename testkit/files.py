"""Small files of each kind a person may attach, made here rather than kept as binaries."""

from __future__ import annotations

import io


def pdf_with_text(*pages: str) -> bytes:
    """A minimal, valid PDF whose pages each show one line of (ASCII) text in Helvetica."""
    count = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
    font = 3 + 2 * count
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>",
    ]
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {4 + 2 * i} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    out.write(trailer.encode())
    return out.getvalue()


def docx_with(
    paragraphs: list[str], table: list[list[str]] | None = None, after: tuple[str, ...] = ()
) -> bytes:
    """A Word document with these paragraphs, optionally a table, then the `after` paragraphs,
    as python-docx saves it."""
    from docx import Document

    document = Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    for paragraph in after:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def pdf_pages_sharing_one_stream(pages: int = 100, stream_bytes: int = 140_000) -> bytes:
    """A small PDF whose pages all show one large, compressed content stream.

    pypdf parses the stream again for every page: 100 pages of a 140 KB stream cost it about
    23 s of CPU, from a 16 KB file (issue 22's first attack).
    """
    import zlib

    line = "BT /F1 9 Tf 20 700 Td (The same words again and again on every page) Tj ET\n"
    content = (line * max(1, stream_bytes // len(line))).encode("latin-1")
    packed = zlib.compress(content, 9)
    kids = " ".join(f"{4 + i} 0 R" for i in range(pages))
    font = 4 + pages
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        f"<< /Length {len(packed)} /Filter /FlateDecode >>\nstream\n".encode()
        + packed
        + b"\nendstream",
    ]
    for _ in range(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents 3 0 R >>".encode()
        )
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return _pdf(objects)


def _pdf(objects: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    out.write(trailer.encode())
    return out.getvalue()


def docx_with_huge_xml(xml_bytes: int = 20 * 1024 * 1024) -> bytes:
    """A small DOCX whose document.xml unpacks to `xml_bytes` (issue 22's second attack).

    A valid Word document with the same paragraph repeated: about 95 KB that python-docx
    parses into hundreds of megabytes.
    """
    import zipfile

    base = docx_with(["x"])
    paragraph = b"<w:p><w:r><w:t>All work and no play makes a dull document.</w:t></w:r></w:p>"
    with zipfile.ZipFile(io.BytesIO(base)) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    head, tail = parts["word/document.xml"].split(b"<w:body>", 1)
    body = paragraph * (xml_bytes // len(paragraph))
    parts["word/document.xml"] = (
        head
        + b"<w:body>"
        + body
        + tail.split(b"<w:p>", 1)[0]
        + (tail[tail.index(b"<w:sectPr") :] if b"<w:sectPr" in tail else b"</w:body></w:document>")
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()
