"""The dashboard at ``/``: one static page and its assets, shipped inside the package.

The page (``indexer/api/static``) reads the API's own ``/v1`` endpoints in the browser and
draws them with Chart.js, vendored from its npm package (``package.json`` pins the
version; a test holds the copy to it), so it needs no build step and no network. The
routes are added after every API route: a request for the API never tries them first.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"


def add_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at ``/`` and its assets under ``/static``."""
    index = (STATIC / "index.html").read_bytes()  # read once: the page never changes at run time

    async def dashboard() -> HTMLResponse:
        """The dashboard page."""
        return HTMLResponse(index)

    app.add_api_route("/", dashboard, methods=["GET"], include_in_schema=False, response_class=HTMLResponse)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
