"""The explore page as a FastAPI application (served by uvicorn; `keras-alexnet explore`).

Routes: `/` (the page), `/static/...` (its script and style), `/api/info`, `/api/architecture`,
`/api/kernels`, `/api/sample/{number}` (a bundled sample analysed), `POST /api/analyse` (an uploaded
image: the raw file as the request body, its name in the `X-Filename` header), and
`/api/activations/{image_id}/{layer}` (another layer of an analysed image). Every failure is a JSON
`{"error": message}` with a 4xx status that the page shows; the server keeps serving.

Example:

>>> from keras_alexnet.explore.app import page_html
>>> "explore.js" in page_html()
True
"""

# No `from __future__ import annotations`: FastAPI reads the route functions' annotations (`fastapi.Request`,
# a name local to create_app) as objects.
import functools
from pathlib import Path
from urllib.parse import unquote

from keras_alexnet.errors import require
from keras_alexnet.explore.uploads import MAX_UPLOAD_BYTES, decode_upload, safe_name, too_large

STATIC = Path(__file__).parent / "static"
#: Where the page's data script goes in index.html (`--export` puts its precomputed data there).
DATA_PLACEHOLDER = "<!-- explore-data -->"
PURPOSE = "keras-alexnet explore (a local web page)"


def page_html(data_script: str | None = None) -> str:
    """index.html; with `data_script`, a `<script src=...>` of precomputed data (the static export)."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    tag = f'<script src="{data_script}"></script>' if data_script else ""
    return html.replace(DATA_PLACEHOLDER, tag)


def create_app(explorer, *, max_upload_bytes: int = MAX_UPLOAD_BYTES):
    """The FastAPI application serving `explorer` (a `keras_alexnet.explore.explorer.Explorer`)."""
    fastapi = require("fastapi", "explore", PURPOSE)
    require("uvicorn", "explore", PURPOSE)
    from fastapi.responses import HTMLResponse, JSONResponse
    from fastapi.staticfiles import StaticFiles
    from starlette.concurrency import run_in_threadpool

    app = fastapi.FastAPI(title="keras-alexnet explore", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    architecture = functools.cache(explorer.architecture_json)
    kernels = functools.cache(explorer.kernels_json)

    def failure(message: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(ValueError)
    async def value_error(request, error: ValueError):
        return failure(str(error), getattr(error, "status", 400))

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return page_html()

    @app.get("/api/info")
    def info() -> dict:
        return explorer.info_json()

    @app.get("/api/architecture")
    def architecture_route() -> dict:
        return architecture()

    @app.get("/api/kernels")
    def kernels_route() -> dict:
        return kernels()

    @app.get("/api/sample/{number}")
    def sample(number: int) -> dict:
        return explorer.analysis_json(explorer.sample(number))

    @app.get("/api/activations/{image_id}/{layer}")
    def activations(image_id: str, layer: str):
        result = explorer.cached(image_id)
        if result is None:
            return failure("This image is no longer in the server's memory; choose or upload it again.", 404)
        return explorer.activations_json(result, layer)

    @app.post("/api/analyse")
    async def analyse(request: fastapi.Request):
        name = safe_name(unquote(request.headers.get("x-filename") or ""))
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_upload_bytes:
            raise too_large(name, max_upload_bytes)
        received = bytearray()
        async for chunk in request.stream():
            received += chunk
            if len(received) > max_upload_bytes:
                raise too_large(name, max_upload_bytes)
        image = await run_in_threadpool(decode_upload, bytes(received), name, explorer.load, max_upload_bytes)
        result = await run_in_threadpool(explorer.analyse, image, name)
        return await run_in_threadpool(explorer.analysis_json, result)

    app.state.explorer = explorer
    return app
