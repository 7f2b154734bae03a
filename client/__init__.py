"""A command-line client for a running MAX-MNIST server: `python -m client IMAGE... [--url URL]`.

Standard library only, so it runs anywhere Python 3 does without installing anything.
"""
