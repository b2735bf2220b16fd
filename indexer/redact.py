"""Keep secrets out of logs, errors, metrics and the API.

RPC endpoints carry API keys in their path or query (``/v2/KEY``, ``?api-key=KEY``) and
DSNs carry passwords. Anything that names an endpoint to a human goes through
:func:`redact_url`; the log filter is a second line of defence for text we did not build.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

_URL_IN_TEXT = re.compile(r"\b(?:https?|wss?|postgres(?:ql)?)://[^\s'\"<>]+", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``scheme://host[:port]`` plus ``/…`` when anything else was there.

    The host is what a person needs to tell endpoints apart; path, query, user and
    password are where providers put keys, so none of them survive.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable url>"
    if not parts.scheme or not host:
        return "<url>"
    if ":" in host:
        host = f"[{host}]"
    shown = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    rest = parts.path.strip("/") or parts.query or parts.username or parts.password
    return shown + ("/…" if rest else "")


# Punctuation that ends a sentence or a clause after a URL ("failed on http://h:8545: …"):
# not part of the URL, and kept out of urlsplit, which would read "8545:" as a bad port.
_TRAILING = ".,;:!?)]}"


def _redact_match(match: re.Match[str]) -> str:
    url = match.group(0)
    stripped = url.rstrip(_TRAILING)
    return redact_url(stripped) + url[len(stripped) :]


def redact_text(text: str) -> str:
    """Replace every URL or DSN inside ``text`` by its redacted form."""
    return _URL_IN_TEXT.sub(_redact_match, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message so no URL in it keeps its secret parts."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Exception texts (httpx, asyncpg) quote the URL they failed on.
            exc = record.exc_info[1]
            record.exc_text = (
                redact_text(logging.Formatter().formatException(record.exc_info)) if str(exc) else record.exc_text
            )
        return True
