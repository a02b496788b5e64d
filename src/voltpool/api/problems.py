"""Errors over HTTP as RFC 9457 problem details (``application/problem+json``).

Every 4xx body names what to fix: ``errors`` lists each broken rule as ``{"field", "rule"}``
with the field's path in the request (``body.capacity_kwh``, ``query.limit``), the same
messages the command line gives for the same rule. Bad input is never a 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from voltpool.errors import ProblemError

MEDIA_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
}


class ApiProblem(Exception):
    """An error answered as a problem: ``status``, a one-line ``detail`` and the broken rules."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


def not_found(what: str) -> ApiProblem:
    """Someone else's object and a missing one answer the same (no existence leak)."""
    return ApiProblem(404, f"no {what} with this id")


def invalid(field: str, rule: str) -> ApiProblem:
    return ApiProblem(422, f"{field}: {rule}", [{"field": field, "rule": rule}])


def problem_response(
    status: int,
    detail: str,
    instance: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def field_path(location: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "rules", "discharge_hours", 0)`` -> ``body.rules.discharge_hours[0]``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _rule(item: dict[str, Any]) -> str:
    """pydantic's message without its "Value error, " prefix (our validators' own words)."""
    message = str(item.get("msg", "is not valid"))
    return message.removeprefix("Value error, ")


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem."""

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, error: ApiProblem) -> JSONResponse:
        return problem_response(
            error.status, error.detail, request.url.path, error.errors, error.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": field_path(item.get("loc", ())), "rule": _rule(item)}
            for item in error.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['rule']}" for e in errors[:3])
        return problem_response(422, detail, request.url.path, errors)

    @app.exception_handler(ProblemError)
    async def _problem_error(request: Request, error: ProblemError) -> JSONResponse:
        errors = [{"field": issue.field, "rule": issue.rule} for issue in error.issues]
        detail = "; ".join(f"{e['field']}: {e['rule']}" for e in errors[:3])
        return problem_response(422, detail, request.url.path, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail if isinstance(error.detail, str) else TITLES.get(error.status_code)
        return problem_response(
            error.status_code,
            detail or "error",
            request.url.path,
            headers=dict(error.headers or {}),
        )
