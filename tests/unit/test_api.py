"""The public API of DESIGN.md is importable from the package top level, and cnn_core never imports Streamlit."""

import ast
from pathlib import Path

import cnn_core

CORE = Path(cnn_core.__file__).parent

DESIGN_API = ["load_image", "ImageError", "output_size", "conv2d", "max_pool2d", "avg_pool2d", "lp_pool2d",
              "adaptive_avg_pool2d", "batch_norm", "relu", "leaky_relu", "sigmoid", "tanh", "elu", "softmax",
              "receptive_field"]


def test_design_api_is_exported_from_the_top_level():
    for name in DESIGN_API + list(cnn_core.__all__):
        assert callable(getattr(cnn_core, name)) or name.isupper(), name


def test_cnn_core_never_imports_streamlit():
    for path in CORE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert "streamlit" not in imported, path.name
