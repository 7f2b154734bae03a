"""How fast, and in how much memory, decompression bombs are refused.

    python bench/bombs.py [--repeat 20]

Builds the same bombs as tests/test_limits.py (small files declaring 50000x50000 and more,
and a fully valid 1.6 MB PNG that inflates to 1.6 GB), sends each `--repeat` times through the
service's WSGI app with the real model loaded, and prints the status, the median and worst
time per request, and the process's peak RSS before and after: decoding any one of them would
take gigabytes.
"""
import argparse
import io
import pathlib
import resource
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from harness.images import (gif_declaring, jpeg_declaring, png_declaring,  # noqa: E402
                            png_inflating)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    bombs = {
        "PNG declaring 50000x50000": png_declaring(50_000, 50_000),
        "GIF declaring 60000x60000": gif_declaring(60_000, 60_000),
        "JPEG declaring 60000x60000": jpeg_declaring(60_000, 60_000),
        "PNG declaring 9000x9000": png_declaring(9_000, 9_000),
        "valid PNG inflating to 1.6 GB": png_inflating(40_000, 40_000),
    }
    client = create_app().test_client()
    client.get("/model/metadata")
    before = peak_rss_mib()
    print(f"peak RSS with the model loaded: {before:.0f} MiB")
    for name, data in bombs.items():
        times, statuses = [], set()
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.post("/model/predict",
                                   data={"image": (io.BytesIO(data), "bomb")})
            times.append(time.perf_counter() - started)
            statuses.add(response.status_code)
        print(f"{name:32s} {len(data):>9,d} bytes  status {sorted(statuses)}  "
              f"median {statistics.median(times) * 1000:6.1f} ms  "
              f"worst {max(times) * 1000:6.1f} ms")
    print(f"peak RSS after {args.repeat} of each: {peak_rss_mib():.0f} MiB "
          f"(+{peak_rss_mib() - before:.0f} MiB)")


if __name__ == "__main__":
    main()
