"""Secrets in endpoint URLs and DSNs never reach a log line or an error message."""

from __future__ import annotations

import io
import logging

import pytest

from indexer.logs import JsonFormatter
from indexer.redact import RedactingFilter, redact_text, redact_url

SECRETS = [
    ("https://polygon-mainnet.example.com/v2/sk_live_ABC123", "https://polygon-mainnet.example.com/…"),
    ("https://rpc.example.com/?api-key=ABC123", "https://rpc.example.com/…"),
    ("https://user:ABC123@rpc.example.com:8443/", "https://rpc.example.com:8443/…"),
    ("postgresql://indexer:ABC123@db.internal:5432/depin", "postgresql://db.internal:5432/…"),
    ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
]


@pytest.mark.parametrize(("url", "shown"), SECRETS)
def test_redact_url_keeps_host_drops_secret(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert "ABC123" not in redact_text(f"request to {url} failed: 500")


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_log_records_are_redacted(fmt: str) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"test.redact.{fmt}")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("endpoint %s answered 429", "https://x.example/v2/ABC123")
        try:
            raise ConnectionError("cannot reach https://x.example/?api-key=ABC123")
        except ConnectionError:
            logger.exception("fetch failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "ABC123" not in text, text
    assert "https://x.example/…" in text
