"""The README is the contract: its API tour runs as written (on small inputs defined here)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _api_tour_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## API tour", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_api_tour_runs() -> None:
    rng = np.random.default_rng(0)
    d = 2
    ns = {
        "p": np.array([0.2, 0.5, 0.3]), "q": np.array([0.4, 0.4, 0.2]),
        "m0": np.zeros(d), "S0": np.eye(d), "m1": np.ones(d), "S1": 2 * np.eye(d),
        "x": rng.normal(size=(120, d)), "y": rng.normal(0.5, 1.0, size=(100, d)),
        "mu1": np.zeros(d), "mu2": np.ones(d), "S2": np.eye(d),
        "fx": rng.normal(size=(1000, 8)), "fy": rng.normal(0.1, 1.0, size=(1000, 8)),
        "logits": rng.normal(size=(500, 10)),
    }
    exec(compile(_api_tour_block(), "README.md (API tour)", "exec"), ns)  # noqa: S102
    # the values the tour's comments state
    dv = ns["dv"]
    assert ns["e"].conjugate(-3.0) == -1.0
    assert abs(dv.gan_objective.optimal_value(ns["p"], ns["q"])
               - (2 * dv.jsd(ns["p"], ns["q"]) - np.log(4))) < 1e-12
