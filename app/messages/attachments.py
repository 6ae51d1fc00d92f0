"""Which files may be attached to a message: plain rules over a file name and its first bytes."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Extension → the content type the file is served with, and the bytes it must start with.
# The type a browser claims is never trusted: the extension and the content must agree.
_ZIP = (b"PK\x03\x04",)
KINDS: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "txt": ("text/plain; charset=utf-8", ()),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
}
ALLOWED_LABEL = "PDF, PNG, JPEG, TXT, DOCX eller XLSX"
FILENAME_MAX = 120


class AttachmentRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    size: int


def safe_filename(name: str) -> str:
    """Return the file name without any folder part, control or odd characters, at most 120 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if ch.isalnum() or ch in " ._-()")
    base = re.sub(r"\s+", " ", base).strip(" .")
    if len(base) > FILENAME_MAX:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: FILENAME_MAX - len(ext) - 1] + dot + ext) if dot and len(ext) <= 5 else base[:FILENAME_MAX]
    return base


def check_attachment(filename: str, data: bytes, max_bytes: int) -> CheckedFile:
    """Return the file's safe name, served content type and size, or raise AttachmentRefused."""
    name = safe_filename(filename)
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if not name or extension not in KINDS:
        raise AttachmentRefused(f"Filtypen är inte tillåten ({ALLOWED_LABEL}).")
    if not data:
        raise AttachmentRefused(f"{name} är tom.")
    if len(data) > max_bytes:
        raise AttachmentRefused(f"{name} är för stor (högst {max_bytes // (1024 * 1024)} MB).")
    content_type, signatures = KINDS[extension]
    if signatures and not any(data.startswith(signature) for signature in signatures):
        raise AttachmentRefused(f"Innehållet i {name} stämmer inte med filtypen.")
    if extension == "txt" and not _is_text(data):
        raise AttachmentRefused(f"{name} är inte en textfil i UTF-8.")
    return CheckedFile(name, content_type, len(data))


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
