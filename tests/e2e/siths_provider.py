"""The demo SITHS provider (oidc-provider-mock) as a real process on loopback, and a forging proxy.

The proxy stands between the product and the provider: it serves the provider's discovery document
with its own token endpoint, forwards the token request, and re-signs the ID token with a key of
its own (same header, same claims), so the product sees a wrongly signed token from the real flow.
"""
from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from threading import Thread

import requests
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from app.demo import idp
from app.demo.stack import ROOT, wait_until
from tests.smtp_server import free_port


@contextmanager
def provider_process(log_dir: Path) -> Iterator[str]:
    """Start the demo provider on a free port; yield its issuer URL."""
    port = free_port()
    with (log_dir / "idp.log").open("ab") as log:
        process = subprocess.Popen(idp.command(port), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok, 60,
                   "the demo SITHS provider")
        yield issuer
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def forging_proxy(issuer: str) -> Iterator[str]:
    """Yield the URL of a proxy whose token endpoint returns ID tokens signed with a stranger's key."""
    stranger = RSAKey.generate_key(2048)
    metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=5).json()

    @Request.application
    def application(request: Request) -> Response:
        if request.path == "/.well-known/openid-configuration":
            return Response(json.dumps({**metadata, "token_endpoint": f"{base}/token"}),
                            mimetype="application/json")
        answer = requests.post(metadata["token_endpoint"], data=request.get_data(),
                               headers={"Authorization": request.headers.get("Authorization", ""),
                                        "Content-Type": request.content_type}, timeout=5).json()
        if "id_token" in answer:
            keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=5).json())
            genuine = jwt.decode(answer["id_token"], keys)
            answer["id_token"] = jwt.encode(genuine.header, genuine.claims, stranger)
        return Response(json.dumps(answer), mimetype="application/json")

    server = make_server("127.0.0.1", 0, application, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        thread.join(5)
