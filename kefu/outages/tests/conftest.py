"""Fixtures shared by the outage tests: the small network of ``factories.make_grid`` and English
messages (the tests read the English msgids)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from django.utils import translation

from kefu.outages.tests.factories import Grid, make_grid

if TYPE_CHECKING:
    from conftest import World


@pytest.fixture
def grid(world: World) -> Grid:
    return make_grid(world)


@pytest.fixture
def in_english() -> Iterator[None]:
    with translation.override("en"):
        yield
