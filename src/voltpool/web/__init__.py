"""The web app: the owner's screens, served by ``voltpool serve`` at ``/app/``.

The app is a static page with plain ES-module JavaScript (``static/app.js``) that calls the
JSON API of :mod:`voltpool.api` with the user's bearer token and follows its live stream
(``/v1/stream``); it adds no logic of its own beyond formatting. No build step and no CDN:
the files here are the whole app, and the charts use the Plotly.js bundle that ships inside
the ``plotly`` Python package (served at ``/app/vendor/plotly.min.js``), so the app works
offline. Plotly is loaded after the first screen is drawn, so cards appear before charts.

Chosen over server-rendered templates (htmx) because every screen is a view of the API that
third-party clients see too, and over a Vite/TypeScript build because a build step would
make ``pip install`` need Node.js; the price is no type checker on the JavaScript, which
the browser tests (``tests/test_web.py``, Playwright on Chromium) cover instead.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import plotly
from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(str(files("voltpool.web") / "static"))
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
MOUNT = "/app"


def install(app: FastAPI) -> None:
    """Serve the web app at ``/app/`` (and send ``/`` there)."""

    @app.get(f"{MOUNT}/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{MOUNT}/")

    app.mount(MOUNT, StaticFiles(directory=STATIC, html=True), name="web")
