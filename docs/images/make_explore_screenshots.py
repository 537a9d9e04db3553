"""Screenshots of each panel of `keras-alexnet explore` for README.md and docs/explore.md.

Runs tests/explore's browser test with KERAS_ALEXNET_SCREENSHOTS set, so the pictures show exactly what
the test checked: the quickstart's checkpoint (the full AlexNet trained on the embedded digits; the test
session runs `keras-alexnet quickstart` first, about 4 minutes), its held-out digit samples, and those samples
as the fc7 index.

    .venv/bin/python docs/images/make_explore_screenshots.py        # writes docs/images/explore_*.png
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NAMES = ("explore_architecture.png", "explore_image.png", "explore_kernels.png", "explore_neighbours.png")
#: Screenshots are shrunk to at most this width and saved as 8-bit palette PNGs (small files).
MAX_WIDTH = 900


def main() -> int:
    env = {**os.environ, "KERAS_ALEXNET_SCREENSHOTS": str(HERE)}
    test = "tests/explore/test_explore_browser.py::test_upload_top5_activations_and_bad_uploads"
    subprocess.run([sys.executable, "-m", "pytest", "-q", test], cwd=ROOT, env=env, check=True)
    for name in NAMES:
        path = HERE / name
        image = Image.open(path).convert("RGB")
        if image.width > MAX_WIDTH:
            image = image.resize((MAX_WIDTH, round(image.height * MAX_WIDTH / image.width)), Image.Resampling.LANCZOS)
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
