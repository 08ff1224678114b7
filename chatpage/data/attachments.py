"""Files attached to a message: read as text, or refused with a reason a person can act on.

A file travels as text inside the message sent upstream, fenced with its name, because the
API takes text only. Text and code files are decoded (UTF-8, a byte-order mark, else a
detected encoding); PDF and DOCX have their text extracted. Images, binaries, damaged or
oversized files are refused whole: nothing is sent and the typed text goes back in the input.

The reading here trusts nothing but is not bounded by itself: the page calls it through
`extraction`, in a child process with limits on CPU time, memory and wall time. What is
bounded here is what a file may ask for: its pages, its unpacked size (by its own size), and
its text, whose reading stops as soon as it passes what a message may hold.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

from charset_normalizer import from_bytes

from chatpage.access.limits import CONTROL_CHARS, FILE_MAX_BYTES, without_controls
from chatpage.access.refusal import Refused
from chatpage.data.conversation import Attachment, ErrorInfo

FILES_MAX_COUNT = 10
NAME_MAX_CHARS = 200
PDF_MAX_PAGES = 1000  # a PDF with more pages is refused before any page is read
# A DOCX is a zip: its parts may unpack to at most this many times the file's own size (text
# unpacks to 3 to 10 times, a repetitive document to 25: bench/extraction.py's 50 pages), with
# a floor for small files (python-docx's empty document alone unpacks to 0.8 MB) and a cap
# whatever the size, as its XML is parsed whole. A zip bomb is far past either.
UNPACKED_MAX_RATIO = 40
UNPACKED_MIN_BYTES = 2 * 1024 * 1024
UNPACKED_MAX_BYTES = 48 * 1024 * 1024
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


class FileRefused(Refused):
    """A file that cannot be sent; `error` says why, in words from i18n."""


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
    uploads: Iterable[Upload], *, max_bytes: int = FILE_MAX_BYTES, max_chars: int | None = None
) -> tuple[Attachment, ...]:
    """Every file as an attachment, or `FileRefused` for the first that cannot be sent."""
    files = list(uploads)
    check_count(len(files))
    return tuple(read(upload, max_bytes=max_bytes, max_chars=max_chars) for upload in files)


def check_count(count: int) -> None:
    if count > FILES_MAX_COUNT:
        raise FileRefused(ErrorInfo("file_count", limit=FILES_MAX_COUNT, size=count))


def check_size(upload: Upload, max_bytes: int) -> None:
    """Refuse a file past the bound by the size the browser gave, before reading a byte."""
    if upload.length > max_bytes:
        raise FileRefused(ErrorInfo("file_too_big", limit=max_bytes, size=upload.length))


def read(
    upload: Upload, *, max_bytes: int = FILE_MAX_BYTES, max_chars: int | None = None
) -> Attachment:
    """One file's text, with its name and size; `FileRefused` with the reason it cannot be sent.

    With `max_chars`, reading stops as soon as the text passes it (`file_text_too_long`):
    a file whose text could never be sent is not read to its end.
    """
    check_size(upload, max_bytes)
    data, size = upload.data, upload.length
    suffix = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    if suffix in _IMAGE_SUFFIXES or upload.mime.startswith("image/") or _looks_like_image(data):
        raise FileRefused(ErrorInfo("file_image"))
    if data.startswith(b"%PDF-") or suffix == "pdf":
        text = pdf_text(data, max_chars)
    elif suffix == "docx":
        text = docx_text(data, unpacked_bound(len(data)), max_chars)
    else:
        text = decode(data)
    if max_chars is not None and len(text) > max_chars:
        raise FileRefused(ErrorInfo("file_text_too_long", limit=max_chars))
    return Attachment(name=clean_name(upload.name), size=size, text=text)


def unpacked_bound(size: int) -> int:
    """The most a DOCX of `size` bytes may unpack to: by its own size, within a cap."""
    return min(UNPACKED_MAX_BYTES, max(UNPACKED_MIN_BYTES, size * UNPACKED_MAX_RATIO))


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
                raise FileRefused(ErrorInfo("file_binary")) from None
            break
    if text is None:
        if b"\x00" in data:
            raise FileRefused(ErrorInfo("file_binary"))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            best = from_bytes(data).best()
            if best is None:
                raise FileRefused(ErrorInfo("file_binary")) from None
            text = str(best)
    return _text_only(text)


def pdf_text(data: bytes, max_chars: int | None = None) -> str:
    """The text of a PDF's pages; a damaged, locked or text-less (scanned) one is unreadable.

    At most `PDF_MAX_PAGES` pages; the pages are read only until the text passes `max_chars`.
    """
    from pypdf import PdfReader  # imported when a PDF arrives: the page starts without it

    pages: list[str] = []
    length = 0
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileRefused(ErrorInfo("file_unreadable"))
        count = len(reader.pages)
        if count > PDF_MAX_PAGES:
            raise FileRefused(ErrorInfo("file_too_many_pages", limit=PDF_MAX_PAGES, size=count))
        for page in reader.pages:
            text = (page.extract_text() or "").strip()
            if text:
                pages.append(text)
                length += len(text) + 2
            if max_chars is not None and length > max_chars:
                raise FileRefused(ErrorInfo("file_text_too_long", limit=max_chars))
    except (FileRefused, MemoryError):
        raise
    except Exception:  # pypdf raises many kinds on damaged files; all mean the same here
        raise FileRefused(ErrorInfo("file_unreadable")) from None
    return _with_text("\n\n".join(pages))


def docx_text(data: bytes, max_unpacked: int, max_chars: int | None = None) -> str:
    """The paragraphs and table rows of a Word document, in the document's order.

    A document whose parts unpack to more than `max_unpacked` bytes is a zip bomb, refused
    before anything is unpacked; the text is read only until it passes `max_chars`.
    """
    from docx import Document  # imported when a DOCX arrives: the page starts without it
    from docx.table import Table

    lines: list[str] = []
    length = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > max_unpacked:
            raise FileRefused(ErrorInfo("file_unpacks_too_big", limit=max_unpacked, size=unpacked))
        document = Document(io.BytesIO(data))
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                found = ["\t".join(cell.text for cell in row.cells) for row in block.rows]
            else:
                found = [block.text]
            lines += found
            length += sum(len(line) + 1 for line in found)
            if max_chars is not None and length > max_chars:
                raise FileRefused(ErrorInfo("file_text_too_long", limit=max_chars))
    except (FileRefused, MemoryError):
        raise
    except Exception:  # not a zip, not a Word document, a damaged part: all unreadable
        raise FileRefused(ErrorInfo("file_unreadable")) from None
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
        raise FileRefused(ErrorInfo("file_binary"))
    return without_controls(text) if found else text  # the one rule


def _with_text(text: str) -> str:
    if not text:
        raise FileRefused(ErrorInfo("file_unreadable"))  # a scan, or an empty document
    return _text_only(text)
