"""Fast seeded random picks. ``random.Random.randint``/``choice``/``choices`` cost ~1 µs each through
``randrange``; one ``random()`` and an index is several times cheaper, and a million customers make
tens of millions of picks."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class Dice:
    __slots__ = ("random", "rng")

    def __init__(self, seed: str) -> None:
        self.rng = random.Random(seed)  # str seeds hash with SHA-512: the same on every run and machine
        self.random = self.rng.random

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def between(self, low: int, high: int) -> int:
        """Inclusive, like randint."""
        return low + int(self.random() * (high - low + 1))

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.random() * len(seq))]

    def weighted(self, values: Sequence[T], cum_weights: Sequence[float]) -> T:
        return values[bisect(cum_weights, self.random() * cum_weights[-1])]
