"""The JSON API keeps its OpenAPI description: schemathesis fuzzes every operation for every role.

Checks: no 5xx, every status code documented, every documented body matches its schema.
The store holds a withdrawal and a message for the caller, so list bodies carry real rows.
Bounded in examples (and derandomized, so a run is repeatable) to keep the whole run near a minute.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from app.messages.models import Message, MessageDelivery
from core.auth.roles import PERMISSIONS, Role
from core.extensions import db
from core.models import User
from tests import factories
from tests.conftest import api_token
from tests.service.withdrawals.conftest import build_world

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
# Operations the role may use get several examples of valid and of invalid input; the others are refused
# whatever is sent, so one example shows that the refusal is documented.
EXAMPLES_ALLOWED, EXAMPLES_REFUSED = 5, 1
USERNAMES = {Role.PRESCRIBER: "karin", Role.CUSTOMER_SERVICE: "maria", Role.HMS_STAFF: "johan",
             Role.TECHNICIAN: "erik"}


def _examples(app, operation, role: Role) -> int:
    endpoints = {endpoint.replace(".", "_"): endpoint for endpoint in app.view_functions}  # operationId's source
    view = app.view_functions[endpoints[operation.definition.raw["operationId"]]]
    permission = getattr(view, "required_permission", None)
    return EXAMPLES_ALLOWED if permission is None or role in PERMISSIONS[permission] else EXAMPLES_REFUSED


def _fuzz(operation, headers: dict[str, str], examples: int, mode: GenerationMode) -> None:
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def _seed(app, client, role: Role) -> str:
    """Store the withdrawal world, one withdrawal and one message to the role's user; return the username."""
    with app.app_context():
        world = build_world()
        username = USERNAMES.get(role) or factories.user("fuzz", roles=(role,)).username
        karin = api_token(client, "karin")
        sent = client.post("/api/v1/withdrawals", headers={"Authorization": f"Bearer {karin}"},
                           json={"row_id": world.row.id, "packages": 1})
        assert sent.status_code == 201, sent.get_json()
        user = factories.user("avsandare", roles=(Role.CUSTOMER_SERVICE,))
        message = Message(sender_id=user.id, subject="Leverans", body="Hej!")
        recipient_id = db.session.scalar(db.select(User.id).where(User.username == username))
        message.deliveries.append(MessageDelivery(user_id=recipient_id))
        db.session.add(message)
        db.session.commit()
    return username


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_every_operation_conforms_to_the_openapi_description(app, client, role):
    username = _seed(app, client, role)
    headers = {"Authorization": f"Bearer {api_token(client, username)}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/tokens":
            continue  # a token request with a fuzzed password counts as a failed login and throttles
        operations += 1
        examples = _examples(app, operation, role)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, headers, examples, mode)
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
                failures.append(f"{mode.value} {operation.method.upper()} {operation.path}: {exc}")
    assert operations >= 40
    assert not failures, "\n\n".join(failures)
