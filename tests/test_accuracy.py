"""The committed model's accuracy on the official MNIST test set, through the serving path.

A digit refused as "not a digit" counts as wrong. The model that also refuses non-digits and
reads other people's styles gives up some MNIST accuracy: 99.09 % with 0.36 % of the test digits
refused (docs/honesty.md, "Measured"); the test holds it to that level, not to the 99.6 % of
the model that answered everything.
"""
import numpy as np

from core.errors import NotADigit
from harness.images import encode


def test_committed_model_reaches_99_percent_on_mnist_test(wrapper, mnist_test):
    images, labels = mnist_test
    outcomes = []
    for start in range(0, len(images), 500):
        outcomes += wrapper.predict([encode(image) for image in images[start:start + 500]])
    refused = np.array([isinstance(outcome, NotADigit) for outcome in outcomes])
    predicted = np.array([-1 if isinstance(outcome, Exception) else outcome[0]["prediction"]
                          for outcome in outcomes])
    accuracy = float((predicted == labels).mean())
    print(f"MNIST test accuracy through the serving path: {accuracy:.4%}, "
          f"refused as not a digit: {refused.mean():.2%}")
    assert accuracy >= 0.99
    assert refused.mean() <= 0.005
