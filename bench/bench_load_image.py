"""load_image on a 24-megapixel phone-sized JPEG: wall time and peak memory.

Run: `.venv/bin/python bench/bench_load_image.py [--repeat 3]`. Prints figures, not pass/fail;
the targets are ≤ 2 s and ≤ 600 MB peak resident memory.

Time is measured in this process (median of --repeat runs after one warm-up). Memory is
measured in a fresh child process that only imports cnn_core.image, reads the file and
loads it once, so nothing else this script allocated (the 24 MP test picture itself!)
counts. The child reads its peak from /proc/self/status (VmHWM), not from ru_maxrss: Linux
carries ru_maxrss over exec, so a child started from this big process would report *our*
peak (seen here: 566 MB before it had loaded anything). ru_maxrss is the fallback
elsewhere (kilobytes on Linux, bytes on macOS).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import median_seconds  # noqa: E402

from cnn_core.image import load_image  # noqa: E402

WIDTH, HEIGHT = 6000, 4000

# The child process: peak memory before and after the load, in MB.
CHILD = """
import resource, sys
sys.path.insert(0, {root!r})
from cnn_core.image import load_image

def peak_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB -> MB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform.startswith("linux") else peak / 2**20

data = open({path!r}, "rb").read()
before = peak_mb()
pixels = load_image(data)
print(before, peak_mb(), *pixels.shape)
"""


def photo_like_jpeg(path: Path) -> None:
    """A 6000×4000 JPEG that compresses like a photo: smooth gradients plus grain, quality 90."""
    rng = np.random.default_rng(0)
    y = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, WIDTH, dtype=np.float32)[None, :]
    picture = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    for channel, (a, b, c) in enumerate([(170, 60, 9), (120, 90, 5), (60, 150, 13)]):
        smooth = a + b * np.sin(c * x + 4 * y) * np.cos(3 * y - 2 * x)
        grain = rng.normal(0, 18, (HEIGHT, WIDTH)).astype(np.float32)
        picture[:, :, channel] = np.clip(smooth + grain, 0, 255)
    Image.fromarray(picture).save(path, "JPEG", quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "photo.jpg"
        photo_like_jpeg(path)
        data = path.read_bytes()
        seconds = median_seconds(lambda: load_image(data), args.repeat)
        child = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), path=str(path))],
                               capture_output=True, text=True, check=True)
    before_mb, peak_mb, *shape = child.stdout.split()
    print(f"file: {WIDTH}x{HEIGHT} JPEG, quality 90, {len(data) / 1e6:.1f} MB -> array {'x'.join(shape)}")
    print(f"load_image {WIDTH}x{HEIGHT} JPEG: {seconds:.2f} s (median of {args.repeat}), "
          f"peak RSS {float(peak_mb):.0f} MB (targets: ≤ 2 s, ≤ 600 MB)")
    print(f"  of which Python + numpy + Pillow + the file's bytes before loading: {float(before_mb):.0f} MB")


if __name__ == "__main__":
    main()
