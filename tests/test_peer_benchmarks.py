"""The peer-benchmark harness (experiments/benchmarks/peers): what it records is what it claims.

No timing is asserted (timings are measurements, never test conditions).  What is checked: a
peer that is absent or raises is reported with its reason, not dropped; ``rel_diff`` is taken
against the stated reference; the summary compares ours with the fastest peer within the case's
accuracy tolerance; and, at small sizes, every peer that the modules declare to compute the same
quantity as ours returns our value (so a ratio in results/benchmarks/peers compares like with like).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from experiments.benchmarks.peers import discrete, exact_ot, fid, harness, knn, mmd, oned, run, sliced


@pytest.fixture(autouse=True)
def _no_settling(monkeypatch):
    """No pause between timed calls here (the one test of the pause sets it back)."""
    monkeypatch.setattr(harness, "SETTLE_S", 0.0)


def _case(cands, **kw):
    return harness.Case("toy", "n=1", cands, **kw)


def test_absent_and_failing_peers_are_reported():
    mod, reason = harness.optional_import("no_such_module_for_the_peer_test")
    assert mod is None and "ModuleNotFoundError" in reason

    def boom() -> float:
        raise RuntimeError("peer exploded")
    rows = harness.time_candidates(_case([
        harness.Candidate("ours", "ours", "divergences", "f()", lambda: 2.0),
        harness.Candidate("absent", "peer", "x", "", None, skipped=reason),
        harness.Candidate("broken", "peer", "y", "g()", boom),
    ], rounds=1))
    by = {r["candidate"]: r for r in rows}
    assert by["absent"]["status"] == "skipped" and "ModuleNotFoundError" in by["absent"]["reason"]
    assert by["broken"]["status"] == "failed" and "peer exploded" in by["broken"]["reason"]
    assert by["ours"]["status"] == "ok" and by["ours"]["ratio_cpu"] == 1.0


def test_rel_diff_against_reference_and_ours():
    rows = harness.time_candidates(_case([
        harness.Candidate("ours", "ours", "divergences", "", lambda: 1.0),
        harness.Candidate("peer", "peer", "p", "", lambda: 1.5),
    ], rounds=1, reference=lambda: 2.0))
    by = {r["candidate"]: r for r in rows}
    assert by["ours"]["rel_diff"] == pytest.approx(0.5) and by["peer"]["rel_diff"] == pytest.approx(0.25)
    rows = harness.time_candidates(_case([
        harness.Candidate("ours", "ours", "divergences", "", lambda: 4.0),
        harness.Candidate("peer", "peer", "p", "", lambda: 5.0),
    ], rounds=1))
    assert {r["candidate"]: r["rel_diff"] for r in rows} == {"ours": 0.0, "peer": pytest.approx(0.25)}


def test_summary_respects_accuracy_tolerance():
    base = dict(estimator="e", case="c", threads=1, status="ok", machine="m", floor_fraction=math.nan, floor="", library="l",
                accuracy_tol=1e-5, wall_s=1.0)
    df = pd.DataFrame([
        dict(base, candidate="ours", role="ours", cpu_s=1.0, ratio_cpu=1.0, ratio_wall=1.0, rel_diff=0.0),
        dict(base, candidate="fast-approx", role="peer", cpu_s=0.1, ratio_cpu=0.1, ratio_wall=0.1, rel_diff=1e-2),
        dict(base, candidate="slow-exact", role="peer", cpu_s=2.0, ratio_cpu=2.0, ratio_wall=2.0, rel_diff=1e-7),
    ])
    s = run.summarise(df).iloc[0]
    assert s["fastest_peer"] == "slow-exact" and s["ratio_cpu"] == 2.0
    assert s["fastest_any"] == "fast-approx" and s["fastest_any_ratio_cpu"] == 0.1
    table = run.markdown(run.summarise(df))
    assert table.count("\n") == 3 and "slow-exact" in table


def test_approximate_peer_is_matched_with_our_setting_of_at_least_its_accuracy():
    """The fastest-at-any-accuracy peer (error 1e-2) is compared with our fastest row whose own error
    is <= 1e-2: the loose 'ours-alt' row (error 1e-3), not the one too inexact (error 5e-2)."""
    base = dict(estimator="e", case="c", status="ok", machine="m", floor_fraction=math.nan, floor="", library="l",
                accuracy_tol=1e-5)
    rows = []
    for threads, scale in ((1, 1.0), (2, 0.5)):
        b = dict(base, threads=threads)
        rows += [dict(b, candidate="ours", role="ours", cpu_s=1.0, wall_s=scale, ratio_cpu=1.0, ratio_wall=1.0, rel_diff=0.0),
                 dict(b, candidate="ours loose", role="ours-alt", cpu_s=0.2, wall_s=0.2 * scale, ratio_cpu=0.2, ratio_wall=0.2,
                      rel_diff=1e-3),
                 dict(b, candidate="ours too loose", role="ours-alt", cpu_s=0.01, wall_s=0.01 * scale, ratio_cpu=0.01,
                      ratio_wall=0.01, rel_diff=5e-2),
                 dict(b, candidate="fast-approx", role="peer", cpu_s=0.3, wall_s=0.3 * scale, ratio_cpu=0.3, ratio_wall=0.3,
                      rel_diff=1e-2)]
    summary = run.summarise(pd.DataFrame(rows))
    s = summary.iloc[0]
    assert s["matched_ours"] == "ours loose" and s["matched_ratio_cpu"] == pytest.approx(1.5)
    assert "against ours loose (error 1.0e-03): 1.50× / 1.50×" in run.markdown(summary)


# (module, candidate, relative tolerance): peers that compute exactly our quantity.  float64
# closed forms agree to ~1e-14 (FID: the eigenproblem's backward error, ~d eps cond);
# float32 Gram sums carry ~n eps_32 relative error on each kernel sum.  1-D W (oned): the interval
# masses are differences of cumulative weights, each within N u of exact (N = n + m <= 600, u = 2^-53),
# so a value moves by at most 2 N u sum_l |x_(i_l) - y_(j_l)|^p <= 2 N^2 u max|x - y|^p: with
# max|x - y|^p <= 200 W_p^p for these samples, <= 1.7e-9 relative on either side; 1e-8.  Our numpy
# and torch calls run the same operations (equal).
SAME_QUANTITY = [
    ("discrete", "scipy rel_entr", 1e-12), ("discrete", "torch xlogy", 1e-12), ("discrete", "scipy jensenshannon**2", 1e-12),
    ("discrete", "torch xlogy JSD", 1e-12), ("discrete", "dv.kl (torch)", 1e-12), ("discrete", "dv.jsd (torch)", 1e-12),
    ("knn", "scipy cKDTree", 1e-12), ("knn", "scikit-learn NearestNeighbors", 1e-12),
    ("exact_ot", "POT emd2", 1e-12), ("sliced", "POT sliced (torch f64)", 1e-12),
    ("oned", "scipy wasserstein_distance", 1e-8), ("oned", "POT wasserstein_1d", 1e-8),
    ("oned", "dv.wasserstein_1d_pow (torch)", 0.0), ("oned", "POT wasserstein_1d (torch, backward)", 1e-8),
    ("mmd", "torch cdist + exp", 1e-3), ("mmd", "torch matmul expansion", 1e-3),
    ("fid", "torch-fidelity fid_statistics_to_metric", 1e-6), ("fid", "pytorch-fid calculate_frechet_distance", 1e-6),
    ("fid", "torchmetrics _compute_fid", 1e-6),
]


# ours against the float64 reference of the module (FID: the trace terms cancel to ~1e-2 of their
# size here, so the eigenproblems' ~d eps backward error shows as ~1e-9 relative; MMD: float32 input)
OURS_VS_REFERENCE = {"fid": 1e-6, "mmd": 1e-3}


@pytest.fixture
def small_sizes(monkeypatch):
    monkeypatch.setattr(discrete, "B", 200)
    monkeypatch.setattr(knn, "SIZES", [(3, 300, 2), (16, 300, 3)])
    monkeypatch.setattr(exact_ot, "SIZES", [(2, 80)])
    monkeypatch.setattr(sliced, "SIZES", [(8, 300, 300, 16, False), (8, 300, 200, 16, True)])
    monkeypatch.setattr(oned, "SIZES", [(300, 300, False, 1), (300, 200, False, 2), (300, 200, True, 1)])
    monkeypatch.setattr(oned, "GRAD_SIZES", [(300, False), (300, True)])
    monkeypatch.setattr(mmd, "SIZES", [(32, 200)])
    monkeypatch.setattr(fid, "N", 600)
    monkeypatch.setattr(fid, "D", 64)


@pytest.mark.parametrize("module", [discrete, knn, exact_ot, oned, sliced, mmd, fid], ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_declared_peers_compute_our_quantity(module, small_sizes):
    name = module.__name__.rsplit(".", 1)[-1]
    tols = {c: t for m, c, t in SAME_QUANTITY if m == name}
    checked = 0
    for case in module.cases():
        if name == "fid" and case.case.startswith("from features"):
            continue  # the torchmetrics class needs num_features = 2048 (fixed by the module)
        case.rounds = 1
        case.floor = None
        for row in harness.time_candidates(case):
            assert row["status"] in ("ok", "skipped"), row
            if row["status"] == "ok" and row["candidate"] in tols:
                assert row["rel_diff"] <= tols[row["candidate"]], row
                checked += 1
            if row["role"] == "ours":
                assert row["status"] == "ok" and math.isfinite(row["value"])
                if case.reference is not None:  # ours against the module's float64 reference
                    assert row["rel_diff"] <= OURS_VS_REFERENCE[name], row
                    checked += 1
    assert checked >= 1  # scipy, POT, scikit-learn and torch are in every install


def test_fast_cases_get_more_rounds_slow_ones_the_case_rounds():
    """Millisecond calls are timed over FAST_ROUNDS rounds (best of many), calls slower than
    FAST_S over the case's own rounds."""
    import time as _time

    fast = harness.time_candidates(_case([harness.Candidate("ours", "ours", "divergences", "", lambda: 1.0)], rounds=3))
    assert fast[0]["timed_rounds"] == harness.FAST_ROUNDS
    slow = harness.time_candidates(_case([harness.Candidate("ours", "ours", "divergences", "",
                                                            lambda: _time.sleep(harness.FAST_S * 1.2) or 1.0)], rounds=2))
    assert slow[0]["timed_rounds"] == 2


def test_timed_calls_wait_for_other_libraries_threads_only_with_several_threads(monkeypatch):
    """With several threads each timed call of a case slower than ``FAST_S`` comes after a
    ``SETTLE_S`` pause (another library's BLAS threads spin after its call); with one thread, and
    for millisecond cases (timed back to back), there is none.  Pauses are outside the timed
    interval, so they never enter the recorded times."""
    import torch

    pauses: list[float] = []
    monkeypatch.setattr(harness, "SETTLE_S", 0.15)
    monkeypatch.setattr(harness.time, "sleep", lambda s: pauses.append(s))
    fast = [harness.Candidate("ours", "ours", "divergences", "", lambda: 1.0)]
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        harness.time_candidates(_case(fast, rounds=3))
    finally:
        torch.set_num_threads(threads)
    assert pauses == []  # a millisecond case: back to back
    monkeypatch.setattr(harness, "FAST_S", 0.0)  # every case counts as slow from here on
    cands = [harness.Candidate("ours", "ours", "divergences", "", lambda: 1.0),
             harness.Candidate("peer", "peer", "lib", "", lambda: 1.0)]
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        harness.time_candidates(_case(cands, rounds=3))
        assert pauses == []
        torch.set_num_threads(2)
        rows = harness.time_candidates(_case(cands, rounds=3))
    finally:
        torch.set_num_threads(threads)
    timed = sum(r["timed_rounds"] for r in rows)
    assert timed == 2 * 3  # the case's own rounds
    assert pauses == [0.15] * timed
    assert all(r["wall_s"] < 0.15 for r in rows)


def test_each_round_times_every_candidate_once_in_its_own_order():
    """Round r times each live candidate once, in the order ``random.Random(ROUND_SEED + r)`` gives
    (the warm-up calls come first, in the listed order); over the fast rounds every candidate is
    timed right after each other one at least once, so none always follows the same call."""
    import random

    calls: list[str] = []

    def rec(name):
        return lambda: calls.append(name) or 1.0
    names = ["ours", "p1", "p2"]
    cands = [harness.Candidate(n, "ours" if n == "ours" else "peer", "lib", "", rec(n)) for n in names]
    cands.append(harness.Candidate("absent", "peer", "lib", "", None, skipped="not installed"))
    harness.time_candidates(_case(cands, rounds=3))
    assert calls[:3] == names  # warm-up
    timed = calls[3:]
    assert len(timed) == 3 * harness.FAST_ROUNDS
    for r in range(harness.FAST_ROUNDS):
        want = list(names)
        random.Random(harness.ROUND_SEED + r).shuffle(want)
        assert timed[3 * r:3 * r + 3] == want
    pairs = set(zip(timed, timed[1:]))
    assert {(a, b) for a in names for b in names if a != b} <= pairs
