"""Domain and API errors, and the handlers that turn them into JSON or Swedish HTML."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

HTML_MESSAGES = {
    400: "Felaktig begäran.",
    403: "Du saknar behörighet till den här sidan.",
    404: "Sidan finns inte.",
    405: "Metoden är inte tillåten.",
    413: "Det du skickade är för stort (högst 1 MB).",
    429: "För många försök. Vänta en stund och försök igen.",
    500: "Ett oväntat fel inträffade.",
}


@dataclass
class FieldError:
    field: str
    message: str


@dataclass
class ValidationFailed(Exception):
    """Input that breaks a rule; each error names the field."""

    errors: list[FieldError] = field(default_factory=list)
    status: int = 422

    @classmethod
    def single(cls, field_name: str, message: str, status: int = 422) -> ValidationFailed:
        return cls([FieldError(field_name, message)], status)

    def __str__(self) -> str:
        return "; ".join(f"{e.field}: {e.message}" for e in self.errors)


class DomainError(Exception):
    """A rule of the business was broken; views map it to a status code."""

    status = 409

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/health"


def json_error(status: int, message: str, field: str | None = None, errors: list[FieldError] | None = None):
    """Return the API's one error shape: {"error": {"status", "message", "field", "errors"}}."""
    body: dict = {"status": status, "message": message}
    if field:
        body["field"] = field
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return jsonify(error=body), status


def init_app(app: Flask) -> None:
    @app.errorhandler(ValidationFailed)
    def _validation_failed(exc: ValidationFailed):
        first = exc.errors[0] if exc.errors else FieldError("body", "ogiltig")
        if wants_json():
            return json_error(exc.status, str(exc), field=first.field, errors=exc.errors)
        return render_template("error.html", status=exc.status, message=str(exc)), exc.status

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        if wants_json():
            return json_error(exc.status, exc.message, field=exc.field)
        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        app.logger.info("csrf refused: %s", exc.description)
        message = "Formuläret har gått ut eller saknar säkerhetstoken. Ladda om sidan och försök igen."
        return render_template("error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        if wants_json():
            response = json_error(status, exc.description or exc.name)
            if status == 401:
                response[0].headers["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
        message = HTML_MESSAGES.get(status, exc.name)
        return render_template("error.html", status=status, message=message), status
