"""The dashboard at ``/``: one static page and its assets, shipped inside the package.

The page (``indexer/api/static``) reads the API's own ``/v1`` endpoints in the browser and
draws them with Chart.js, vendored from its npm package (``package.json`` pins the
version; a test holds the copy to it), so it needs no build step and no network.

The few files (about 230 kB) are read once and served from memory, not by Starlette's
``StaticFiles``: that reads each file in a thread of a pool per request, which under
load cost about 1.5 ms of CPU a request for Chart.js and 11 MB more peak memory (the
threads' allocator arenas). The routes are added after every API route, so a request
for the API never tries them first.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.responses import Response

from indexer.api.errors import NotFound

STATIC = Path(__file__).resolve().parent / "static"

# The file types the page is made of; any other file under static/ is not served.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
}


class Asset:
    """One file of the dashboard, in memory, with the validator a browser revalidates by."""

    def __init__(self, path: Path) -> None:
        self.body = path.read_bytes()
        self.media_type = MEDIA_TYPES[path.suffix]
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'

    def response(self, request: Request) -> Response:
        """The file, or 304 when the browser already holds this version of it."""
        # no-cache: the browser keeps the file but asks each time, so an upgrade shows at once.
        headers = {"etag": self.etag, "cache-control": "no-cache"}
        held = _validators(request.headers.get("if-none-match", ""))
        if self.etag in held or "*" in held:
            return Response(status_code=304, headers=headers)
        if request.method == "HEAD":
            headers["content-length"] = str(len(self.body))
            return Response(media_type=self.media_type, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def _validators(header: str) -> set[str]:
    """The entity tags of an If-None-Match header, weak or strong alike (RFC 9110 compares
    them weakly for it): a list, ``W/"..."``, or ``*`` (any version)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def load_assets(root: Path = STATIC) -> dict[str, Asset]:
    """Every servable file under ``root``, by its path relative to it (``vendor/chart.umd.min.js``)."""
    return {
        path.relative_to(root).as_posix(): Asset(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix in MEDIA_TYPES
    }


def add_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at ``/`` and its assets under ``/static``."""
    assets = load_assets()
    page = assets["index.html"]

    async def dashboard(request: Request) -> Response:
        """The dashboard page."""
        return page.response(request)

    async def asset(request: Request, path: str) -> Response:
        """One file of the dashboard."""
        found = assets.get(path)
        if found is None:
            raise NotFound(f"the dashboard has no file {path!r}")
        return found.response(request)

    app.add_api_route("/", dashboard, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route("/static/{path:path}", asset, methods=["GET", "HEAD"], include_in_schema=False)
