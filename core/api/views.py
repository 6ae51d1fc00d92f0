"""Account endpoints of the JSON API: tokens, who am I, and the OpenAPI document."""
from __future__ import annotations

from flask import current_app, jsonify, request
from flask_login import current_user

from core.api.blueprints import api_blueprint
from core.api.docs import build_spec, documented
from core.api.schemas import MeResponse, TokenRequest, TokenResponse
from core.api.validation import parse_json
from core.auth import oidc, services
from core.auth.guard import public
from core.errors import json_error

bp = api_blueprint("api", __name__)


@bp.post("/tokens")
@public
@documented("Exchange username and password (or a SITHS browser session) for a bearer token", request=TokenRequest,
            response=TokenResponse, status=201, tags=("auth",), errors=(400, 401, 403, 413, 422, 429),
            authenticated=False)
def create_token():
    user = oidc.siths_session_user()
    if user is None:
        body = parse_json(TokenRequest)
        try:
            user = services.authenticate(body.username, body.password, request.remote_addr or "-")
        except services.LoginThrottled:
            return json_error(429, "too many failed logins; try again later", field="username")
        except services.LoginRefused:
            return json_error(401, "wrong username or password", field="password")
        if not services.may_get_token_by_password(user):
            return json_error(403, "password login is turned off; only service accounts get tokens by password",
                              field="username")
    token, expires_at = services.issue_api_token(user)
    return jsonify(TokenResponse(token=token, expires_at=expires_at).model_dump(mode="json")), 201


@bp.get("/me")
@documented("Return the token holder's account, roles and authorities", response=MeResponse, tags=("auth",),
            errors=(401,))
def me():
    payload = MeResponse(
        username=current_user.username,
        name=current_user.name,
        roles=sorted(role.value for role in current_user.roles),
        product_areas=sorted(area.code for area in current_user.product_areas),
        unit_customer_numbers=sorted(unit.customer_number for unit in current_user.units),
    )
    return jsonify(payload.model_dump())


@bp.get("/openapi.json")
@documented("This OpenAPI 3 description", tags=("meta",), errors=(401,))
def openapi():
    return jsonify(build_spec(current_app))
