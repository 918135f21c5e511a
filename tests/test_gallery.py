"""docs/article.md is jac's real output: regenerate it and compare."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_gallery():
    spec = importlib.util.spec_from_file_location("make_gallery", ROOT / "docs" / "make_gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gallery_matches_jac():
    gallery = load_gallery()
    expected = gallery.page()
    actual = (ROOT / "docs" / "article.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/article.md drifted from jac's output: run python docs/make_gallery.py"


def test_gallery_covers_the_article():
    text = (ROOT / "docs" / "article.md").read_text(encoding="utf-8")
    for heading in ("Derivatives of vector element-wise binary operators", "Vector sum reduction",
                    "The chain rules", "The gradient of neuron activation",
                    "The gradient of the neural network loss function"):
        assert heading in text
    assert "\x1b[" not in text
    assert text.count("$ jac ") + text.count("| jac ") >= 20
