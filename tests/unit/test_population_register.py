"""Population-register client without a network: the file adapter, the factory, the rules."""
from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from core import outbound
from core.privacy.personnummer import InvalidPersonnummer
from app.patients.register import (
    UNAVAILABLE_MESSAGE,
    FileRegister,
    HttpRegister,
    PopulationRegister,
    RegisteredAddress,
    RegisterUnavailable,
    register_from_config,
    write_register_file,
)

TOLVAN = "191212121212"
NOT_FILED = "194107086219"
TOLVAN_ADDRESS = RegisteredAddress("Storgatan 1", "123 45", "Tolvsby", first_name="Tolvan", last_name="Tolvansson")


@pytest.fixture
def register_file(tmp_path: Path) -> Path:
    return write_register_file(tmp_path / "register.json", {TOLVAN: TOLVAN_ADDRESS})


def test_file_register_returns_the_filed_address(register_file: Path) -> None:
    assert FileRegister(register_file).lookup(TOLVAN) == TOLVAN_ADDRESS


def test_file_register_returns_none_for_a_person_not_filed(register_file: Path) -> None:
    assert FileRegister(register_file).lookup(NOT_FILED) is None


def test_file_register_missing_file_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(RegisterUnavailable) as caught:
        FileRegister(tmp_path / "absent.json").lookup(TOLVAN)
    assert str(caught.value) == UNAVAILABLE_MESSAGE
    assert caught.value.permanent is True


def test_file_register_invalid_json_is_unavailable_without_quoting_the_file(tmp_path: Path) -> None:
    path = tmp_path / "register.json"
    path.write_text('{"%s": {"street": ' % TOLVAN, encoding="utf-8")
    with pytest.raises(RegisterUnavailable) as caught:
        FileRegister(path).lookup(TOLVAN)
    assert TOLVAN not in caught.value.detail


def test_file_register_malformed_record_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "register.json"
    path.write_text(json.dumps({TOLVAN: {"street": "Storgatan 1", "city": "Tolvsby"}}), encoding="utf-8")
    with pytest.raises(RegisterUnavailable):
        FileRegister(path).lookup(TOLVAN)


def test_file_register_reads_a_rewritten_file_without_restart(register_file: Path) -> None:
    register = FileRegister(register_file)
    assert register.lookup(NOT_FILED) is None
    write_register_file(register_file, {NOT_FILED: RegisteredAddress("Byvägen 2", "98765", "Norrby")})
    assert register.lookup(NOT_FILED) == RegisteredAddress("Byvägen 2", "98765", "Norrby")


@pytest.mark.parametrize("bad", ["19121212-1212", "1212121212", "../../admin", "19121212121a", ""])
def test_lookup_refuses_anything_but_twelve_digits(register_file: Path, bad: str) -> None:
    with pytest.raises(InvalidPersonnummer):
        FileRegister(register_file).lookup(bad)
    with pytest.raises(InvalidPersonnummer):
        # Refused before any request, so no server is needed.
        HttpRegister("http://127.0.0.1:9").lookup(bad)


def test_write_register_file_is_owner_only_utf8_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = write_register_file(tmp_path / "nested" / "register.json", {TOLVAN: TOLVAN_ADDRESS})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "Tolvansson" in path.read_text(encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8"))[TOLVAN]["postal_code"] == "123 45"
    assert [p.name for p in path.parent.iterdir()] == ["register.json"]


def test_address_without_name_round_trips_without_empty_name_fields() -> None:
    address = RegisteredAddress("Byvägen 2", "98765", "Norrby")
    assert address.to_mapping() == {"street": "Byvägen 2", "postal_code": "98765", "city": "Norrby"}
    assert RegisteredAddress.from_mapping(address.to_mapping()) == address


def test_register_unavailable_speaks_swedish_to_the_user() -> None:
    error = RegisterUnavailable("http register: read timeout")
    assert str(error) == "Folkbokföringsregistret svarar inte just nu. Försök igen senare."
    assert error.permanent is False


def test_config_defaults_to_the_file_register(tmp_path: Path) -> None:
    register = register_from_config({"POPULATION_REGISTER_FILE": str(tmp_path / "r.json")})
    assert isinstance(register, FileRegister)
    assert isinstance(register, PopulationRegister)


def test_config_file_register_falls_back_to_the_given_default_file(tmp_path: Path) -> None:
    register = register_from_config({}, default_file=tmp_path / "r.json")
    assert isinstance(register, FileRegister) and register.path == tmp_path / "r.json"


def test_config_file_register_without_a_path_is_refused() -> None:
    with pytest.raises(ValueError, match="POPULATION_REGISTER_FILE"):
        register_from_config({"POPULATION_REGISTER": "file"})


def test_config_chooses_the_http_register_with_its_timeouts() -> None:
    register = register_from_config({
        "POPULATION_REGISTER": "http",
        "POPULATION_REGISTER_URL": "https://register.example/api/",
        "POPULATION_REGISTER_READ_TIMEOUT": "3",
    })
    assert isinstance(register, HttpRegister) and isinstance(register, PopulationRegister)
    assert register.base_url == "https://register.example/api"
    assert register.timeout == (2.0, 3.0)


@pytest.mark.parametrize("config", [
    {"POPULATION_REGISTER": "http"},
    {"POPULATION_REGISTER": "http", "POPULATION_REGISTER_URL": "register.example"},
    {"POPULATION_REGISTER": "ldap", "POPULATION_REGISTER_FILE": "x.json"},
])
def test_config_misconfiguration_is_refused(config: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        register_from_config(config)


def test_config_warns_about_plain_http_to_another_host(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="app.patients.register"):
        register_from_config({"POPULATION_REGISTER": "http", "POPULATION_REGISTER_URL": "http://register.example"})
    assert "use https" in caplog.text


@pytest.mark.parametrize("timeout", [None, 5, (1,), (0, 5), (1, None), (True, 5)])
def test_outbound_refuses_a_missing_or_open_ended_timeout(timeout: object) -> None:
    with pytest.raises(ValueError, match="timeout"):
        outbound.request_json("GET", "http://127.0.0.1:9/", timeout=timeout)  # type: ignore[arg-type]


def test_safe_target_keeps_only_scheme_host_and_port() -> None:
    with_port = f"https://register.example:8443/persons/{TOLVAN}?q=1"
    assert outbound.safe_target(with_port) == "https://register.example:8443"
    assert outbound.safe_target(f"https://register.example/persons/{TOLVAN}") == "https://register.example"


def test_strip_paths_removes_paths_from_transport_log_lines() -> None:
    request_line = f'http://127.0.0.1:8000 "GET /persons/{TOLVAN} HTTP/1.1" 200 54'
    assert outbound.strip_paths(request_line) == 'http://127.0.0.1:8000 "GET /[path] HTTP/1.1" 200 54'
    retry_line = f"Incremented Retry for (url='/persons/{TOLVAN}?x=1'): Retry(total=0)"
    assert TOLVAN not in outbound.strip_paths(retry_line)
    full = f"Redirecting https://register.example/persons/{TOLVAN} -> /login"
    assert outbound.strip_paths(full) == "Redirecting https://register.example/[path] -> /[path]"
