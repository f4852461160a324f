"""Real data shipped inside entk (no downloads): the embedded MNIST sample as rotated MNIST."""

from ._entk import rotated_mnist

__all__ = ["rotated_mnist"]
