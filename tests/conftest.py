"""Shared pytest configuration: a deterministic seed per test."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded numpy generator for each test."""
    return np.random.default_rng(20261122)


@pytest.fixture(autouse=True)
def _torch_seed() -> None:
    torch.manual_seed(20261122)
