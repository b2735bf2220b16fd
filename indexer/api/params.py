"""The request parameters shared by several routes, and the checks FastAPI cannot make
from a type alone (months, page cursors, networks that exist). A failed check is a
:class:`~indexer.api.errors.BadParameter` (422 naming the parameter) or a
:class:`~indexer.api.errors.NotFound` (404)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Query

from indexer.api.db import Database
from indexer.api.errors import BadParameter, NotFound

NetworkQuery = Annotated[str, Query(min_length=1, max_length=64)]
Granularity = Literal["day", "month"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(parameter: str, value: str) -> date:
    """The first day of the month ``value`` (``YYYY-MM``)."""
    match = _MONTH.match(value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BadParameter(parameter, f"must be a month as YYYY-MM, got {value!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


async def require_network(db: Database, network: str) -> None:
    """404 unless ``network`` has labelled addresses."""
    if not await db.is_network(network):
        raise NotFound(f"unknown network {network!r}")


def encode_cursor(usd: Decimal | None, node: str) -> str:
    """The opaque ``next_cursor`` of a page whose last node is ``node`` earning ``usd``."""
    raw = json.dumps([None if usd is None else format(usd, "f"), node]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Decimal | None, str]:
    """The keyset position ``(usd, node)`` of a cursor made by :func:`encode_cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        usd, node = json.loads(raw)
        if not isinstance(node, str) or not (usd is None or isinstance(usd, str)):
            raise ValueError
        return (None if usd is None else Decimal(usd)), node
    except (ValueError, binascii.Error, TypeError, ArithmeticError):
        raise BadParameter("cursor", "not a cursor returned by this API") from None
