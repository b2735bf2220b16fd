"""The FastAPI application: every endpoint of the API contract, read-only.

The app connects as ``depin_reader`` with ``default_transaction_read_only`` and a
statement timeout, so nothing can be written through it even by a bug. Amounts are
rendered as exact decimal strings. The endpoints live in :mod:`indexer.api.routes`, one
module per resource; each declares its model of :mod:`schemas.api` as ``response_model``.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from indexer import __version__
from indexer.api.dashboard import add_dashboard
from indexer.api.db import open_database
from indexer.api.environment import ENV_DSN, ENV_SETTINGS
from indexer.api.errors import install
from indexer.api.metrics import ApiMetrics, MetricsMiddleware
from indexer.api.routes import add_routes
from schemas import api as models


def create_app(database_url: str, *, statement_timeout_ms: int = 5000, pool_size: int = 8) -> FastAPI:
    """The API app over ``database_url`` (which should name the ``depin_reader`` role)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.database = await open_database(
            database_url, statement_timeout_ms=statement_timeout_ms, pool_size=pool_size
        )
        # Everything loaded so far lives as long as the process: out of the collector's
        # sight, full collections under load are shorter (they show in the p99).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await app.state.database.close()

    app = FastAPI(
        title="depin-indexer API",
        version=__version__,
        description="Read-only figures of GPU DePIN networks, computed from the chains. "
        "Amounts are exact decimal strings.",
        lifespan=lifespan,
        responses={422: {"model": models.ErrorResponse}, 404: {"model": models.ErrorResponse}},
    )
    install(app)
    metrics = ApiMetrics()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    add_routes(app)
    add_dashboard(app)
    return app


def app_from_environment() -> FastAPI:
    """The app of one uvicorn worker process, from the settings `depin-indexer api` exported."""
    settings = json.loads(os.environ.get(ENV_SETTINGS, "{}"))
    return create_app(os.environ[ENV_DSN], **settings)
