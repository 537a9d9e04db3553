"""`keras-alexnet explore --export DIR`: the same page as static files, for notebooks and static hosting.

DIR gets `index.html`, `static/explore.js`, `static/explore.css` and `static/data.js`, which holds the
architecture, the kernels and a set of precomputed images (the bundled samples and any `--image`), each
with its top-5, every layer's activations, LRN's effect and its neighbours (with `--index`). The page
reads that script instead of asking a server, so it opens from the file system (`file://`), from any
static web server, or in a notebook (`IPython.display.IFrame("DIR/index.html", ...)`); there is no
upload. DIR is written through `keras_alexnet.outputs`: staged, then moved into place, replacing only an
absent or empty directory or an earlier export (marked by `explore_export.json`).

Example:

>>> import tempfile
>>> from keras_alexnet.explore.export import check_export_dir, is_export_dir
>>> folder = tempfile.mkdtemp()
>>> is_export_dir(folder), check_export_dir(folder).is_dir()  # an empty folder may be written to
(False, True)
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from keras_alexnet.explore.app import STATIC, page_html
from keras_alexnet.outputs import check_output, publish, staging_directory

MARKER = "explore_export.json"
EXPORT_KIND = f"explore export (with {MARKER})"
STATIC_FILES = ("explore.js", "explore.css")


def is_export_dir(path: str | os.PathLike) -> bool:
    """Whether `path` is a directory an earlier `explore --export` wrote."""
    return (Path(path) / MARKER).is_file()


def check_export_dir(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """`path` as a Path after checking an export may be written there (before the model is built)."""
    check_output(path, is_export_dir, EXPORT_KIND, overwrite=overwrite)
    return Path(path)


def export_data(explorer, images: list[str | os.PathLike] | None = None) -> dict:
    """The page's data: info, architecture, kernels and the analysis of every image, with all layers."""
    from keras_alexnet.explore.explorer import ImageResult

    results: list[ImageResult] = []
    for number in range(len(explorer.samples)):
        results.append(explorer.sample(number))
    for path in images or []:
        path = Path(path)
        results.append(explorer.analyse(explorer.load(path), path.name, path=os.fspath(path.resolve())))
    info = explorer.info_json()
    info["static"] = True
    info["samples"] = [{"number": i, "name": r.name} for i, r in enumerate(results)]
    return {
        "info": info,
        "architecture": explorer.architecture_json(),
        "kernels": explorer.kernels_json(),
        "images": [explorer.analysis_json(r, layers=explorer.layers) for r in results],
    }


def export_page(
    explorer,
    directory: str | os.PathLike,
    images: list[str | os.PathLike] | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write the static page for `explorer` (with the samples, plus `images`) to `directory`, atomically."""
    directory = check_export_dir(directory, overwrite=overwrite)
    if images is None:
        images = []
    data = export_data(explorer, images)
    script = "window.EXPLORE_STATIC = " + json.dumps(data, separators=(",", ":")) + ";\n"
    with staging_directory(directory.parent, directory.name, "export", what="the explore page") as scratch:
        page = Path(scratch) / "page"
        (page / "static").mkdir(parents=True)
        for name in STATIC_FILES:
            shutil.copyfile(STATIC / name, page / "static" / name)
        (page / "static" / "data.js").write_text(script, encoding="utf-8")
        (page / "index.html").write_text(page_html("static/data.js"), encoding="utf-8")
        marker = {"written_by": "keras-alexnet explore --export", "images": len(data["images"])}
        (page / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        publish(page, directory, is_export_dir, EXPORT_KIND, overwrite=overwrite)
    return directory
