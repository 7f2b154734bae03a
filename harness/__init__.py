"""What tests and benchmarks share: image files built in memory and real server processes.

Not part of the service (the container image does not ship it); tests/ and bench/ import it,
so bench/ never needs tests/.
"""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
