"""The explore page in a real browser: Debian's chromium, headless, driven by Playwright.

Uploads an image, waits for the top-5 and the activations, and checks the numbers shown against
`model.predict` of the same checkpoint (a confident 10-class one, so a wrong mapping shows); bad uploads
get a message and the server keeps serving; the static export works from file://.
Set KERAS_ALEXNET_SCREENSHOTS=DIR to also save a screenshot of each panel there.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from pages import CHROMIUM, browser, serving

if not Path(CHROMIUM).exists() or not pytest.importorskip("playwright"):
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs chromium for the explore browser test ({CHROMIUM}); see .ci/setup")
    pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

TIMEOUT_MS = 60_000


def _shown_top(page) -> list[tuple[int, float, str, str]]:
    rows = page.locator("#top5 li")
    return [
        (
            int(rows.nth(i).get_attribute("data-index")),
            float(rows.nth(i).get_attribute("data-score")),
            rows.nth(i).locator(".bar-name").inner_text(),
            rows.nth(i).locator(".bar-score").inner_text(),
        )
        for i in range(rows.count())
    ]


def _check_against_predict(shown, image_path: Path, explore_model) -> None:
    from keras_alexnet.eval_preprocessing import eval_preprocessing
    from keras_alexnet.image_io import load_image
    from keras_alexnet.preprocessing import preprocess_for

    model, network = explore_model
    spec = eval_preprocessing(network)
    image = load_image(image_path, size=spec.crop, resize=spec.resize, resize_mode=spec.resize_mode)
    reference = model.predict(preprocess_for(image[None], network), verbose=0)[0]
    order = np.argsort(-reference)[:5]
    assert [index for index, _, _, _ in shown] == order.tolist()
    assert [name for _, _, name, _ in shown] == [network.class_names[i] for i in order]
    np.testing.assert_allclose([score for _, score, _, _ in shown], reference[order], atol=1e-5)
    assert [text for _, _, _, text in shown] == [f"{100 * reference[i]:.2f} %" for i in order]
    assert reference[order[0]] > 0.3 and reference[order[0]] > 2 * reference[order[4]]  # not uniform


def _screenshot(page, selector: str, name: str) -> None:
    folder = os.environ.get("KERAS_ALEXNET_SCREENSHOTS")
    if folder:
        page.locator(selector).screenshot(path=os.path.join(folder, name))


def test_upload_top5_activations_and_bad_uploads(explorer, explore_model, explore_images, tmp_path):
    with serving(explorer) as url, browser() as chromium:
        page = chromium.new_page(viewport={"width": 1100, "height": 900})
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=TIMEOUT_MS)
        assert page.locator("#random-banner").is_hidden()
        assert page.locator(".arch .layer[data-layer='conv2']").count() == 2  # one per tower
        assert page.locator(".arch .layer[data-layer='conv3']").count() == 1  # joined
        assert "(227 - 11) / 4 + 1 = 55" in page.locator(".arch").inner_text()
        _screenshot(page, "#architecture", "explore_architecture.png")
        _screenshot(page, "#kernels", "explore_kernels.png")

        upload = explore_images[2]
        first_id = page.locator("#top5").get_attribute("data-image-id")
        page.set_input_files("#upload", str(upload))
        page.wait_for_function(
            f"document.querySelector('#top5').getAttribute('data-image-id') !== {first_id!r}", timeout=TIMEOUT_MS
        )
        page.wait_for_selector("#activation-grid[data-layer='conv1']", timeout=TIMEOUT_MS)
        _check_against_predict(_shown_top(page), upload, explore_model)
        assert page.locator("#lrn img").count() == 18  # 6 channels x (before, after, ratio)
        assert page.locator("#neighbour-list figure[data-rank]").count() == 6

        page.select_option("#layer-select", "conv5")
        page.wait_for_selector("#activation-grid[data-layer='conv5']", timeout=TIMEOUT_MS)
        assert "256 maps of 13×13" in page.locator("#activation-caption").inner_text()
        _screenshot(page, "#image", "explore_image.png")
        _screenshot(page, "#neighbours", "explore_neighbours.png")

        for name, content, expected in (
            ("empty.jpg", b"", "empty"),
            ("notes.png", b"no pixels here\n" * 20, "not a readable image"),
        ):
            bad = tmp_path / name
            bad.write_bytes(content)
            page.set_input_files("#upload", str(bad))
            page.wait_for_selector("#message:not([hidden])", timeout=TIMEOUT_MS)
            message = page.locator("#message").inner_text()
            assert name in message and expected in message, message
        shown_id = page.locator("#top5").get_attribute("data-image-id")
        page.set_input_files("#upload", str(explore_images[0]))  # the server still serves
        page.wait_for_function(
            f"document.querySelector('#top5').getAttribute('data-image-id') !== {shown_id!r}", timeout=TIMEOUT_MS
        )
        assert page.locator("#message").is_hidden()
        page.wait_for_selector("#activation-grid[data-layer='conv5']", timeout=TIMEOUT_MS)
        _check_against_predict(_shown_top(page), explore_images[0], explore_model)
        assert not errors, errors


def test_static_export_opens_from_files(explorer, explore_model, tmp_path):
    from keras_alexnet.explore.export import export_page
    from keras_alexnet.samples import sample_image_paths

    out = export_page(explorer, tmp_path / "page")
    with browser() as chromium:
        page = chromium.new_page()
        page.goto((out / "index.html").as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=TIMEOUT_MS)
        assert page.locator("#upload-label").is_hidden() and page.locator("#static-note").is_visible()
        page.locator("#sample-buttons button[data-sample='1']").click()
        page.wait_for_function(
            "document.querySelector('#crop-caption').textContent.startsWith('flower.jpg')", timeout=TIMEOUT_MS
        )
        _check_against_predict(_shown_top(page), sample_image_paths()[1], explore_model)
        page.select_option("#layer-select", "pool2")
        page.wait_for_selector("#activation-grid[data-layer='pool2']", timeout=TIMEOUT_MS)
