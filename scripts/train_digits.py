"""Train the digit network from its seeded random start and save assets/digits_cnn.pt (reproducible; < 1 minute).

    .venv/bin/python scripts/train_digits.py            # train, print the accuracies, save the weights
    .venv/bin/python scripts/train_digits.py --check    # train, print, and do not overwrite the committed weights

Data: assets/digits.npz (scripts/make_digits.py). Training sees only the training split; the held-out split is
scored after every epoch and, at the end, also shifted by one pixel in each of the four directions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnn_core.digits import MODEL_PATH, ONE_PIXEL_SHIFTS, load_data, make_model, shift_images  # noqa: E402
from cnn_core.train import evaluate, fit  # noqa: E402

SEED = 0
SETTINGS = dict(lr=0.1, epochs=20, batch_size=32, weight_decay=1e-4, augment=True, schedule="cosine", seed=SEED)


def train() -> tuple[torch.nn.Module, dict[str, float]]:
    """The committed recipe: the same seed, data and settings give the same network (one thread, CPU)."""
    torch.set_num_threads(1)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)  # restored below: a test calls this, and the flag is process-wide
    try:
        train_x, train_y, test_x, test_y = load_data()
        model = make_model(seed=SEED)
        start = time.perf_counter()
        history = fit(model, train_x, train_y, test_x, test_y, **SETTINGS)
        seconds = time.perf_counter() - start
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
    Y = torch.from_numpy(test_y)
    shifted = [evaluate(model, torch.from_numpy(shift_images(test_x, dy, dx)), Y)[1] for dy, dx in ONE_PIXEL_SHIFTS]
    scores = dict(seconds=seconds, train_acc=history.train_acc[-1], test_acc=history.test_acc[-1],
                  shifted_acc=float(np.mean(shifted)), worst_shift_acc=float(np.min(shifted)))
    return model, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write assets/digits_cnn.pt")
    args = parser.parse_args()
    model, s = train()
    print(f"trained {SETTINGS['epochs']} epochs in {s['seconds']:.1f} s: training accuracy {s['train_acc']:.2%}, "
          f"held-out {s['test_acc']:.2%}, held-out shifted by 1 pixel {s['shifted_acc']:.2%} "
          f"(worst direction {s['worst_shift_acc']:.2%})")
    if s["test_acc"] < 0.97 or s["shifted_acc"] < 0.90:
        raise SystemExit("below the targets (97 % held-out, 90 % shifted): weights not saved")
    if not args.check:
        torch.save(model.state_dict(), MODEL_PATH)
        print(f"saved {MODEL_PATH.name} ({MODEL_PATH.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
