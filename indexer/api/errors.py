"""One JSON error shape for every failure: ``{"error": {"status", "message", "parameter"}}``."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response


class ApiError(Exception):
    """Raised by a handler: rendered with its status, message and offending parameter."""

    def __init__(self, status: int, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameter = parameter


class NotFound(ApiError):
    """404: an unknown network, or a node with nothing in it."""

    def __init__(self, message: str) -> None:
        super().__init__(404, message)


class BadParameter(ApiError):
    """422 naming ``parameter``, in the message as well, for a value FastAPI's types let through."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(422, f"{parameter}: {message}", parameter)


def error_response(status: int, message: str, parameter: str | None = None) -> Response:
    """The error body of :class:`schemas.api.ErrorResponse` with ``status``."""
    body = {"error": {"status": status, "message": message, "parameter": parameter}}
    return Response(json.dumps(body), status_code=status, media_type="application/json")


def install(app: FastAPI) -> None:
    """Route every error through :func:`error_response`."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, exc.parameter)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body")]
        parameter = ".".join(loc) or None
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        return error_response(422, f"{parameter}: {message}" if parameter else message, parameter)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        return error_response(exc.status_code, str(exc.detail))
