"""Make assets/digits.npz from the UCI handwritten digits that scikit-learn ships (run once; the app never needs sklearn).

    .venv/bin/python scripts/make_digits.py

scikit-learn's wheel contains `sklearn/datasets/data/digits.csv.gz`: 1,797 digits of 8×8 integer counts 0..16
(UCI "Optical Recognition of Handwritten Digits", CC BY 4.0). We keep the counts as uint8 (small, exact) and fix a
stratified held-out split once, so training never sees the test digits and every run splits alike.
Written to the file: train_x, train_y, test_x, test_y (counts and labels) and train_index, test_index (the rows of
sklearn's `load_digits()` each digit came from, so a test can rebuild the source order and compare).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnn_core.digits import DATA_PATH, content_sha256  # noqa: E402

SEED = 20240617
TEST_SHARE = 0.2  # 20 % of every class is held out: about 36 digits per class, 360 in all


def stratified_split(labels: np.ndarray, test_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers (train, test): the same share of every class goes to the test side, chosen at random."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for digit in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        n_test = round(len(rows) * test_share)
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def main() -> None:
    import sklearn
    from sklearn.datasets import load_digits

    digits = load_digits()
    counts = digits.images.astype(np.uint8)  # (1797, 8, 8), 0..16
    if not np.array_equal(counts, digits.images):
        raise SystemExit("sklearn's digits are not whole numbers 0..16 any more; check the source.")
    labels = digits.target.astype(np.uint8)
    train_index, test_index = stratified_split(labels, TEST_SHARE, SEED)
    np.savez_compressed(DATA_PATH, train_x=counts[train_index], train_y=labels[train_index],
                        test_x=counts[test_index], test_y=labels[test_index],
                        train_index=train_index.astype(np.int16), test_index=test_index.astype(np.int16))
    source = Path(sklearn.__file__).parent / "datasets" / "data" / "digits.csv.gz"
    print(f"scikit-learn {sklearn.__version__}: {len(labels)} digits → {DATA_PATH.relative_to(ROOT)} "
          f"({DATA_PATH.stat().st_size:,} bytes), {len(train_index)} train / {len(test_index)} held out")
    print(f"source file sha256 {hashlib.sha256(source.read_bytes()).hexdigest()}")
    print(f"content sha256     {content_sha256(counts, labels)}")


if __name__ == "__main__":
    main()
