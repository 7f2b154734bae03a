"""Inference alone, per runtime: why the service runs LiteRT. Prints a Markdown table.

For each way of running the same model (Keras `model.predict` as the original did,
`predict_on_batch`, a `tf.function`, the same with XLA, LiteRT as served) it measures, in a fresh
process, the time to import and load, the process's RSS, and CPU milliseconds per call at batch
sizes 1, 8 and 32 (CPU time is what a saturated server runs out of; wall time drifts with load).
A flat cost per image across batch sizes means micro-batching concurrent requests would save
nothing. About a minute.

    python -m bench.inference [assets/mnist_cnn.h5]
"""
import argparse
import json
import os
import pathlib
import subprocess  # nosec B404  # runs this same script in a child, a fixed command
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUNTIMES = ("keras model.predict", "keras predict_on_batch", "tf.function", "tf.function + XLA",
            "LiteRT (served)")
SIZES = (1, 8, 32)


def _rss_mb():
    return int(pathlib.Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def _runner(runtime, h5_path):
    """Import and load `runtime`; return `f(batch) -> probabilities`."""
    if runtime == "LiteRT (served)":
        from core.litert import LiteRTRuntime
        return LiteRTRuntime(pathlib.Path(h5_path).with_suffix(".tflite"))
    import keras
    import tensorflow as tf
    model = keras.models.load_model(h5_path, compile=False)
    if runtime == "keras model.predict":
        return lambda batch: model.predict(batch, verbose=0)
    if runtime == "keras predict_on_batch":
        return model.predict_on_batch
    function = tf.function(lambda batch: model(batch, training=False),
                           jit_compile=runtime.endswith("XLA"))
    return lambda batch: function(tf.constant(batch)).numpy()


def measure_one(runtime, h5_path, budget=3.0):
    """Run in a child process: load time, RSS and ms per call of one runtime."""
    import numpy as np
    started = time.perf_counter()
    run = _runner(runtime, h5_path)
    result = {"load_s": time.perf_counter() - started, "ms": {}, "cpu_ms": {}}
    rng = np.random.default_rng(0)
    for size in SIZES:
        batch = rng.random((size, 28, 28, 1), dtype=np.float32)
        for _ in range(3):  # warm-up: tracing, XLA compilation, allocation
            run(batch)
        calls, begun, cpu = 0, time.perf_counter(), time.process_time()
        while calls < 5 or time.perf_counter() - begun < budget / len(SIZES):
            run(batch)
            calls += 1
        result["ms"][size] = (time.perf_counter() - begun) / calls * 1e3
        result["cpu_ms"][size] = (time.process_time() - cpu) / calls * 1e3
    result["rss_mb"] = _rss_mb()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", default="assets/mnist_cnn.h5",
                        help="the Keras .h5 model (default %(default)s)")
    parser.add_argument("--child", metavar="RUNTIME", help=argparse.SUPPRESS)  # one measurement
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure_one(args.child, args.model)))
        return 0
    h5_path = args.model
    print("| runtime | import + load s | RSS MB | "
          + " | ".join(f"CPU ms/call, batch {n}" for n in SIZES)
          + " | wall ms, batch 1 | wall ms, batch 32 | CPU µs/image at 32 |")
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in SIZES) + " | ---: | ---: | ---: |")
    for runtime in RUNTIMES:
        output = subprocess.run([sys.executable, "-m", "bench.inference", "--child", runtime,  # nosec B603  # fixed command
                                 h5_path], cwd=ROOT, capture_output=True, text=True, check=True,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        row = json.loads(output.stdout.strip().splitlines()[-1])
        cells = [f"{row['cpu_ms'][str(n)]:.2f}" for n in SIZES]
        cells += [f"{row['ms']['1']:.2f}", f"{row['ms']['32']:.2f}",
                  f"{row['cpu_ms']['32'] * 1e3 / 32:.0f}"]
        print(f"| {runtime} | {row['load_s']:.1f} | {row['rss_mb']:.0f} | " + " | ".join(cells)
              + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
