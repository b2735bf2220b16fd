"""The API's JSON response class, and the encoding of the bodies built in Python.

The busiest endpoints have their JSON rendered by Postgres (no per-row work in Python);
the others are encoded once, here. Either way a route returns a finished
:class:`PrerenderedJSON`, which FastAPI sends as is: the route's ``response_model`` (a
model of :mod:`schemas.api`) then describes the body in the OpenAPI schema but is not
applied per request. ``tests/api/test_response_models.py`` holds every real body to its
model instead, so the declared models stay the contract.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from starlette.responses import JSONResponse


class PrerenderedJSON(JSONResponse):
    """A body already encoded as JSON (by Postgres or :func:`json_body`), sent unchanged.

    A :class:`JSONResponse` subclass because FastAPI only puts a route's
    ``response_model`` into the OpenAPI schema for JSON response classes.
    """

    def render(self, content: Any) -> bytes:
        """The body as given: encoding it again would cost a parse per request."""
        return content if isinstance(content, bytes) else str(content).encode()


def exact(value: Any) -> Any:
    """``json.dumps`` default: decimals as exact strings (never a float), dates as ISO text."""
    if isinstance(value, Decimal):
        # "f" because str() would give exponent notation ("1E+3") for some values.
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def json_body(body: Any, status: int = 200) -> PrerenderedJSON:
    """``body`` (dicts, lists, decimals, dates) encoded once as JSON."""
    return PrerenderedJSON(json.dumps(body, default=exact), status_code=status)
