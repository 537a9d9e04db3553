"""`keras-alexnet explore`: the paper's analyses on a real AlexNet, as a local web page.

Modules: `architecture` (the layer table with shape arithmetic and the tower layout), `explorer` (an
image's top-5, activations, LRN's effect, conv1's kernels, neighbours: JSON-ready data), `neighbours`
(searching a `keras-alexnet embed` index), `uploads` (limits on uploaded files), `encode` (PNG data
URIs), `app` (the FastAPI application; the page itself is `static/`), `server` (uvicorn) and `export`
(the same page as static files). Only `app` and `server` need the `[explore]` extra.

Example:

>>> from keras_alexnet.explore.uploads import MAX_UPLOAD_BYTES
>>> MAX_UPLOAD_BYTES // 2**20
64
"""
