"""Files attached to a message: read as text, or refused with a reason a person can act on.

A file travels as text inside the message sent upstream, fenced with its name, because the
API takes text only. Text and code files are decoded (UTF-8, a byte-order mark, else a
detected encoding); PDF and DOCX have their text extracted. Images, binaries, damaged or
oversized files are refused whole: nothing is sent and the typed text goes back in the input.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

from charset_normalizer import from_bytes

from .conversation import Attachment, ErrorInfo
from .limits import CONTROL_CHARS, FILE_MAX_BYTES

FILES_MAX_COUNT = 10
NAME_MAX_CHARS = 200
# A DOCX is a zip: its parts may unpack to at most this many times the file's own size.
_UNPACKED_MAX_RATIO = 50
_IMAGE_SUFFIXES = frozenset(
    {"png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff", "heic", "heif", "avif", "svg"}
)
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
_BOMS = (  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class Refused(ValueError):
    """A file that cannot be sent; `error` says why, in words from i18n."""

    def __init__(self, error: ErrorInfo) -> None:
        super().__init__(error.kind)
        self.error = error


@dataclass(frozen=True)
class Upload:
    """A file as the browser sent it: its name, its declared type and its bytes."""

    name: str
    data: bytes
    mime: str = ""
    size: int = -1  # as the browser said, when `data` was not copied; else its length

    @property
    def length(self) -> int:
        return self.size if self.size >= 0 else len(self.data)


def read_all(
    uploads: Iterable[Upload], *, max_bytes: int = FILE_MAX_BYTES
) -> tuple[Attachment, ...]:
    """Every file as an attachment, or `Refused` for the first that cannot be sent."""
    files = list(uploads)
    if len(files) > FILES_MAX_COUNT:
        raise Refused(ErrorInfo("file_count", limit=FILES_MAX_COUNT, size=len(files)))
    return tuple(read(upload, max_bytes=max_bytes) for upload in files)


def read(upload: Upload, *, max_bytes: int = FILE_MAX_BYTES) -> Attachment:
    """One file's text, with its name and size; `Refused` with the reason it cannot be sent."""
    data, size = upload.data, upload.length
    if size > max_bytes:
        raise Refused(ErrorInfo("file_too_big", limit=max_bytes, size=size))
    suffix = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    if suffix in _IMAGE_SUFFIXES or upload.mime.startswith("image/") or _looks_like_image(data):
        raise Refused(ErrorInfo("file_image"))
    if data.startswith(b"%PDF-") or suffix == "pdf":
        text = pdf_text(data)
    elif suffix == "docx":
        text = docx_text(data, max_bytes * _UNPACKED_MAX_RATIO)
    else:
        text = decode(data)
    return Attachment(name=clean_name(upload.name), size=size, text=text)


def decode(data: bytes) -> str:
    """A text file's text: by its byte-order mark, as UTF-8, else in a detected encoding.

    Bytes that hold NUL (without a UTF-16/32 mark) or that no encoding reads are binary.
    The odd control character (a form feed in old source) is dropped, as in typed text.
    """
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                raise Refused(ErrorInfo("file_binary")) from None
            break
    if text is None:
        if b"\x00" in data:
            raise Refused(ErrorInfo("file_binary"))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            best = from_bytes(data).best()
            if best is None:
                raise Refused(ErrorInfo("file_binary")) from None
            text = str(best)
    return _text_only(text)


def pdf_text(data: bytes) -> str:
    """The text of a PDF's pages; a damaged, locked or text-less (scanned) one is unreadable."""
    from pypdf import PdfReader  # imported when a PDF arrives: the page starts without it

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Refused(ErrorInfo("file_unreadable"))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Refused:
        raise
    except Exception:  # pypdf raises many kinds on damaged files; all mean the same here
        raise Refused(ErrorInfo("file_unreadable")) from None
    return _with_text("\n\n".join(p.strip() for p in pages if p.strip()))


def docx_text(data: bytes, max_unpacked: int) -> str:
    """The paragraphs and table cells of a Word document, in order of the document."""
    from docx import Document  # imported when a DOCX arrives: the page starts without it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > max_unpacked:
                raise Refused(ErrorInfo("file_unreadable"))  # a zip bomb, not a document
        document = Document(io.BytesIO(data))
        lines = [p.text for p in document.paragraphs]
        for table in document.tables:
            for row in table.rows:
                lines.append("\t".join(cell.text for cell in row.cells))
    except Refused:
        raise
    except Exception:  # not a zip, not a Word document, a damaged part: all unreadable
        raise Refused(ErrorInfo("file_unreadable")) from None
    return _with_text("\n".join(lines).strip())


def clean_name(name: str) -> str:
    """A file's name as it may be shown and fenced: its last part, printable, bounded."""
    base = re.split(r"[\\/]", name)[-1]
    printable = "".join(c for c in base if c.isprintable() and c != "`").strip()
    return printable[:NAME_MAX_CHARS] or "file"


def _looks_like_image(data: bytes) -> bool:
    head = data[:16]
    return head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def _text_only(text: str) -> str:
    """Text with its stray controls dropped; mostly controls (or NUL) means it was binary."""
    found = len(CONTROL_CHARS.findall(text))
    if "\x00" in text or found > max(8, len(text) // 100):
        raise Refused(ErrorInfo("file_binary"))
    return CONTROL_CHARS.sub("", text) if found else text


def _with_text(text: str) -> str:
    if not text:
        raise Refused(ErrorInfo("file_unreadable"))  # a scan, or an empty document
    return _text_only(text)
