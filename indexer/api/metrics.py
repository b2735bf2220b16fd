"""Request counts and latency of the API, per route, for ``/metrics``."""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from starlette.responses import Response


class ApiMetrics:
    """The metrics of one app, in a registry of its own (not the process-wide default),
    so that apps made side by side, as the tests do, do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("depin_api_requests", "API requests", ["route", "status"], registry=self.registry)
        self.latency = Histogram(
            "depin_api_request_seconds",
            "API request latency",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )

    def exposition(self) -> Response:
        """The Prometheus text of the API, summed over every worker process when there are several."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            collected = CollectorRegistry()
            multiprocess.MultiProcessCollector(collected)
            return Response(generate_latest(collected), media_type=CONTENT_TYPE_LATEST)
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts and times every request by route, as plain ASGI middleware (Starlette's
    BaseHTTPMiddleware costs a task and a stream per request)."""

    def __init__(self, app: Any, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Pass the request on, noting the status it was answered with and how long it took."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            # The route's template, not the URL: one series per endpoint, not per node.
            name = getattr(route, "path", "unmatched")
            self.metrics.latency.labels(name).observe(time.perf_counter() - started)
            self.metrics.requests.labels(name, str(status[0])).inc()
