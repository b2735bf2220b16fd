"""How `depin-indexer api --workers N` hands its settings to uvicorn's worker processes.

Kept apart from :mod:`indexer.api.app` so the command can name these without importing
the web stack.
"""

from __future__ import annotations

ENV_DSN = "DEPIN_API_DSN"
ENV_SETTINGS = "DEPIN_API_SETTINGS"
