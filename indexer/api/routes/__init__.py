"""One router per resource of the API, added to an app by :func:`add_routes`."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from indexer.api.routes import assumptions, export, freshness, health, networks, nodes, revenue, utilisation

# In the order the OpenAPI schema lists them.
ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    freshness.router,
    networks.router,
    revenue.router,
    nodes.router,
    utilisation.router,
    assumptions.router,
    export.router,
)

# What a route carries over to the app: everything these routers set, and their defaults.
_CARRIED = (
    "response_model",
    "status_code",
    "tags",
    "summary",
    "description",
    "response_description",
    "responses",
    "deprecated",
    "methods",
    "operation_id",
    "include_in_schema",
    "response_class",
    "name",
    "openapi_extra",
)


def add_routes(app: FastAPI) -> None:
    """Every route of :data:`ROUTERS`, added to ``app`` itself.

    Not ``app.include_router``: FastAPI 0.16x then matches every request through a layer
    per included router, measured at 30-60 µs a request here (/healthz took 160 µs instead
    of 100). Added one by one, as ``include_router`` itself did before, they cost what
    routes declared on the app cost, and take in the app's error responses.
    """
    for router in ROUTERS:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                raise TypeError(f"{route!r}: only path operations can be added to the app")
            app.add_api_route(route.path, route.endpoint, **{name: getattr(route, name) for name in _CARRIED})
