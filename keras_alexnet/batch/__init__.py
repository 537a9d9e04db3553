"""Batch inference at scale: streaming inputs, streaming results with resume, and Apache Beam.

- `keras_alexnet.batch.inputs`: files, folders, globs, `@list.txt` and `tfds:NAME:SPLIT` as one lazy stream,
  decoded in parallel by `load_image` with a bounded number of images in flight.
- `keras_alexnet.batch.results`: JSON-lines / CSV results written as they arrive, read back for `--resume`.
- `keras_alexnet.batch.stream`: the loop (decode -> batch -> network) and the progress bar.
- `keras_alexnet.batch.beam`: a `ModelHandler` for Apache Beam's `RunInference` and the Beam pipeline
  (optional extra `[beam]`).

See docs/batch.md.
"""
