"""The demo SITHS provider: oidc-provider-mock, loaded with the demo users' HSA-ids, on loopback.

`python -m app.demo.idp --port 9400` (the Procfile's `idp`) starts it; the demo stack and the tests
build the same command with `command()`. A newcomer clicks "Logga in med SITHS" and picks a person;
one extra person has an HSA-id without an account, to show the refusal.
"""
from __future__ import annotations

import json
import os
import sys

from app.demo.reference import DEMO_USERS
from core.auth.roles import Role

HSA_ID_CLAIM = "employeeHsaId"
DEFAULT_PORT = 9400
CLIENT_ID = "forskrivningsportalen-demo"  # the mock accepts any client id and secret
CLIENT_SECRET = "demo-secret"
# A valid card whose holder has no account here: the "no account" page links to the access application.
NO_ACCOUNT = ("SE2321000255-N0K0", "Nils Okänd", "Inget konto")


def demo_people() -> list[dict[str, str]]:
    """Return the provider's predefined users: the demo users and one without an account."""
    people = [(user.hsa_id, user.name, Role(user.role).label) for user in DEMO_USERS] + [NO_ACCOUNT]
    # The picker shows `sub` on the button, so it says who the person is; the product reads the HSA-id claim.
    return [{"sub": f"{name}, {role} ({hsa_id})", HSA_ID_CLAIM: hsa_id, "name": name}
            for hsa_id, name, role in people]


def command(port: int, host: str = "127.0.0.1", token_max_age: int | None = None) -> list[str]:
    """Return the command line that starts the demo provider on host:port."""
    args = [sys.executable, "-m", "oidc_provider_mock", "--host", host, "--port", str(port), "--require-nonce"]
    if token_max_age is not None:
        args += ["--token-max-age", str(token_max_age)]
    for person in demo_people():
        args += ["--user-claims", json.dumps(person, ensure_ascii=False)]
    return args


def environment(port: int, host: str = "127.0.0.1") -> dict[str, str]:
    """Return the product's settings that point SITHS login at the demo provider."""
    return {"OIDC_ISSUER": f"http://{host}:{port}", "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_HSA_ID_CLAIM": HSA_ID_CLAIM}


def main(argv: list[str] | None = None) -> None:
    """Replace this process with the demo provider (the port from --port, or 9400)."""
    argv = sys.argv[1:] if argv is None else argv
    port = int(argv[argv.index("--port") + 1]) if "--port" in argv else DEFAULT_PORT
    args = command(port)
    os.execv(args[0], args)


if __name__ == "__main__":
    main()
