"""Population-register client (folkbokföringen): the registered address on a patient's first fetch.

Plain classes, no Flask. `register_from_config` picks the adapter from a config mapping:
`POPULATION_REGISTER` = "file" (default, `POPULATION_REGISTER_FILE`) or "http"
(`POPULATION_REGISTER_URL`). A personnummer is personal data: it is never logged, and
never part of an exception message.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote, urlsplit

import requests

from core import outbound
from core.privacy.personnummer import TWELVE_DIGITS, InvalidPersonnummer

log = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "Folkbokföringsregistret svarar inte just nu. Försök igen senare."
DEFAULT_HTTP_TIMEOUT: outbound.Timeout = (2.0, 5.0)


@dataclass(frozen=True)
class RegisteredAddress:
    """A person's registered (folkbokförd) address, with the name when the register gives it."""

    street: str
    postal_code: str
    city: str
    first_name: str | None = None
    last_name: str | None = None

    @classmethod
    def from_mapping(cls, data: Any) -> RegisteredAddress:
        """Return the address from a register record, or raise ValueError if it is malformed."""
        if not isinstance(data, Mapping):
            raise ValueError("register record is not an object")
        values: dict[str, str | None] = {}
        for name in ("street", "postal_code", "city"):
            value = data.get(name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"register record lacks {name}")
            values[name] = value.strip()
        for name in ("first_name", "last_name"):
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"register record has a non-text {name}")
            values[name] = value.strip() if value else None
        return cls(**values)  # type: ignore[arg-type]

    def to_mapping(self) -> dict[str, str]:
        """Return the record as the register file and the HTTP register spell it."""
        return {key: value for key, value in asdict(self).items() if value is not None}


class RegisterUnavailable(Exception):
    """The register could not answer; str() is the Swedish message for the user."""

    def __init__(self, detail: str = "", *, permanent: bool = False) -> None:
        super().__init__(UNAVAILABLE_MESSAGE)
        self.detail = detail  # for logs and operators; never holds the personnummer
        self.permanent = permanent  # True when asking again cannot help (misconfiguration)


@runtime_checkable
class PopulationRegister(Protocol):
    """Look up a person's registered address by personnummer."""

    def lookup(self, personnummer: str) -> RegisteredAddress | None:
        """Return the registered address, None if the person is not found, or raise RegisterUnavailable."""
        ...


def _require_twelve_digits(personnummer: str) -> str:
    # Validity (date, check digit) is the caller's job; the shape is ours, because the
    # value ends up in a URL path and must not be able to walk it ("../").
    if not isinstance(personnummer, str) or not TWELVE_DIGITS.fullmatch(personnummer):
        raise InvalidPersonnummer("Ange personnummer med 12 siffror, ÅÅÅÅMMDDXXXX, utan bindestreck.")
    return personnummer


class FileRegister:
    """A register read from a JSON file mapping personnummer → address (the demo default)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def lookup(self, personnummer: str) -> RegisteredAddress | None:
        """Return the address filed for the personnummer, or None if it is not in the file."""
        _require_twelve_digits(personnummer)
        # Read on every lookup: the file is small and the demo seeder may rewrite it at any time.
        entries = self._load()
        record = entries.get(personnummer)
        if record is None:
            return None
        try:
            return RegisteredAddress.from_mapping(record)
        except ValueError as exc:
            raise _unavailable(f"file register {self.path.name}: {exc}", permanent=True) from None

    def _load(self) -> Mapping[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise _unavailable(f"file register {self.path} is missing", permanent=True) from None
        except OSError as exc:
            raise _unavailable(f"file register {self.path} unreadable: {type(exc).__name__}") from None
        except ValueError:
            # json's message quotes the document, which is full of personnummer.
            raise _unavailable(f"file register {self.path} is not valid JSON", permanent=True) from None
        if not isinstance(data, Mapping):
            raise _unavailable(f"file register {self.path} is not a JSON object", permanent=True)
        return data


class HttpRegister:
    """A register behind HTTP: GET {base_url}/persons/{personnummer} → 200 address, 404 → not found.

    The personnummer travels in the URL path, as the register's contract demands. Point
    this adapter only at a trusted register over TLS (https://) in production: plain HTTP
    is for loopback tests. The chokepoint logs neither paths nor bodies.
    """

    def __init__(
        self,
        base_url: str,
        timeout: outbound.Timeout = DEFAULT_HTTP_TIMEOUT,
        *,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.session = session

    def lookup(self, personnummer: str) -> RegisteredAddress | None:
        """Return the registered address, None on 404, or raise RegisterUnavailable."""
        url = f"{self.base_url}/persons/{quote(_require_twelve_digits(personnummer), safe='')}"
        try:
            status, body = outbound.request_json(
                "GET", url, timeout=self.timeout, headers=self.headers, session=self.session,
                accept_statuses=(404,),
            )
        except outbound.TransportError as exc:
            raise _unavailable(f"http register: {exc.message}", permanent=exc.permanent) from None
        if status == 404:
            return None
        if status != 200:
            raise _unavailable(f"http register {outbound.safe_target(url)}: unexpected status {status}",
                               permanent=True)
        try:
            return RegisteredAddress.from_mapping(body)
        except ValueError as exc:
            raise _unavailable(f"http register {outbound.safe_target(url)}: {exc}", permanent=True) from None


def _unavailable(detail: str, *, permanent: bool = False) -> RegisterUnavailable:
    log.warning("population register unavailable: %s", detail)
    return RegisterUnavailable(detail, permanent=permanent)


def write_register_file(path: str | os.PathLike[str], entries: Mapping[str, RegisteredAddress]) -> Path:
    """Write the entries as a register file FileRegister reads, atomically and readable by the owner only."""
    target = Path(path)
    payload = {_require_twelve_digits(pnr): address.to_mapping() for pnr, address in sorted(entries.items())}
    target.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp gives 0600, and os.replace means a reader never sees half a file.
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def register_from_config(
    config: Mapping[str, Any], *, default_file: str | os.PathLike[str] | None = None
) -> PopulationRegister:
    """Return the register the config names: "file" (default) or "http"; raise ValueError if misconfigured."""
    kind = str(config.get("POPULATION_REGISTER") or "file").strip().lower()
    if kind == "file":
        path = config.get("POPULATION_REGISTER_FILE") or default_file
        if not path:
            raise ValueError("POPULATION_REGISTER_FILE must name the register file when POPULATION_REGISTER=file")
        return FileRegister(path)
    if kind == "http":
        base_url = config.get("POPULATION_REGISTER_URL")
        if not base_url:
            raise ValueError("POPULATION_REGISTER_URL must be set when POPULATION_REGISTER=http")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("POPULATION_REGISTER_URL must be an http(s) URL with a host")
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            log.warning("population register reached over plain HTTP at %s; use https in production",
                        outbound.safe_target(base_url))
        timeout = (
            float(config.get("POPULATION_REGISTER_CONNECT_TIMEOUT", DEFAULT_HTTP_TIMEOUT[0])),
            float(config.get("POPULATION_REGISTER_READ_TIMEOUT", DEFAULT_HTTP_TIMEOUT[1])),
        )
        return HttpRegister(base_url, timeout)
    raise ValueError(f"POPULATION_REGISTER must be 'file' or 'http', not {kind!r}")
