"""The committed model's accuracy on the official MNIST test set, through the serving path."""
import numpy as np

from harness.images import encode


def test_committed_model_reaches_99_5_percent_on_mnist_test(wrapper, mnist_test):
    images, labels = mnist_test
    outcomes = []
    for start in range(0, len(images), 500):
        outcomes += wrapper.predict([encode(image) for image in images[start:start + 500]])
    predicted = np.array([outcome[0]["prediction"] for outcome in outcomes])
    accuracy = float((predicted == labels).mean())
    print(f"MNIST test accuracy through the serving path: {accuracy:.4%}")
    assert accuracy >= 0.995
