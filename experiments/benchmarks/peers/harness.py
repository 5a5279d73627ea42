"""Timing harness for the peer benchmarks (see the package docstring).

Each candidate is a zero-argument callable returning the estimate as a float (the inputs are
prepared outside the timed call, identically for every candidate).  Timing: one untimed warm-up
call per candidate (it also yields the value), then ``rounds`` rounds, each timing every candidate
once in a fixed random order of its own (``FAST_ROUNDS``
when every warm-up call took under ``FAST_S``), with a ``SETTLE_S`` pause before each timed call of
the other cases when several threads are in use; a candidate whose first timed call exceeded
``slow_s`` seconds is not repeated (best of fewer).  Both process
CPU time (``time.process_time``: all threads of this process) and wall time are recorded; with one
thread the CPU-time ratio is the work ratio, insensitive to other load on the machine.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import random
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Candidate", "Case", "optional_import", "time_candidates", "thread_env"]

#: a case whose every warm-up call took under FAST_S seconds is timed over FAST_ROUNDS rounds (a
#: 5 ms call's best of 3 moved by 20-40 % between runs on a 2-core VM; 31 rounds cost < 5 s)
FAST_S = 0.05
FAST_ROUNDS = 31
#: with several threads, each timed call starts after this pause: right after a call into another
#: library's BLAS, its worker threads keep spinning on the cores for about 0.1 s (OpenBLAS).  Measured
#: on a 2-core Intel Xeon VM, 2 threads: dv.kid (torch, MKL) right after torch-fidelity's KID (numpy,
#: OpenBLAS) took 0.36-0.37 s after a 0-20 ms pause, 0.352 s after 50 ms, 0.315-0.320 s after 100-300 ms
#: (and 0.305-0.31 s alone).  With one thread no library has worker threads, and no pause is taken.
#: Nor for the millisecond cases (timed over FAST_ROUNDS back to back, as in a user's loop): after a
#: pause the first ~0.1 ms of work runs cold on this VM (a 9 us argument check took 73 us right after
#: a 0.15 s sleep), which would weigh the number of distinct operations, not the work (kNN KL at
#: n = 2000: ours 2.40 against the peer's 2.43 ms back to back, 2.99 against 2.65 ms after sleeps).
SETTLE_S = 0.15
#: seed of round r's candidate order: ``random.Random(ROUND_SEED + r)`` (the same orders in every run)
ROUND_SEED = 1000


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


@dataclasses.dataclass
class Candidate:
    """One implementation of a case's quantity.

    ``role`` is ``"ours"`` or ``"peer"``; ``library`` names the package and version; ``call`` is
    the exact call (for the CSV); ``fn`` returns the value as a float; ``note`` states the
    convention used to make it the same quantity as ours (or why it differs)."""

    name: str
    role: str
    library: str
    call: str
    fn: Callable[[], float] | None
    note: str = ""
    skipped: str = ""


@dataclasses.dataclass
class Case:
    """One size of one estimator: its candidates, the reference value (if any; else ours) and a
    floor: ``floor()`` returns ``(seconds, description)``, measured in the same process."""

    estimator: str
    case: str
    candidates: list[Candidate]
    floor: Callable[[], tuple[float, str]] | None = None
    reference: Callable[[], float] | None = None
    rounds: int = 3
    #: peers whose ``rel_diff`` exceeds this are not "the same computation" (an approximate
    #: solver); the summary compares ours with the fastest peer within it (None: every peer)
    accuracy_tol: float | None = None


def optional_import(module: str) -> tuple[Any | None, str]:
    """Import ``module``; return ``(module, version)`` or ``(None, reason)`` if it is absent or
    fails to import (for instance a torchvision that does not match the installed torch)."""
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - any import failure means "peer unavailable"
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    top = importlib.import_module(module.split(".")[0])
    return mod, str(getattr(top, "__version__", "?"))


def thread_env(threads: int) -> dict[str, str]:
    """Environment for a child process limited to ``threads`` BLAS / OpenMP threads."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS"):
        env[var] = str(threads)
    return env


def _timed(fn: Callable[[], float]) -> tuple[float, float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    value = fn()
    return time.process_time() - c0, time.perf_counter() - w0, float(value)


def time_candidates(case: Case, slow_s: float = 20.0) -> list[dict[str, Any]]:
    """Warm up, then time ``case``'s candidates round-robin; one row per candidate (see the
    module docstring; ``ratio_*`` = candidate time / our time, > 1 means ours is faster)."""
    live = [c for c in case.candidates if c.fn is not None and not c.skipped]
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    warm_wall = 0.0
    for c in live:
        try:
            w0 = time.perf_counter()
            values[c.name] = float(c.fn())
            warm_wall = max(warm_wall, time.perf_counter() - w0)
        except Exception as exc:  # noqa: BLE001 - a failing peer is reported, not fatal
            errors[c.name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    live = [c for c in live if c.name not in errors]
    best_cpu = {c.name: float("inf") for c in live}
    best_wall = {c.name: float("inf") for c in live}
    timed_rounds = {c.name: 0 for c in live}
    rounds = max(case.rounds, FAST_ROUNDS) if warm_wall < FAST_S else case.rounds
    settle = SETTLE_S if _torch_threads() > 1 and warm_wall >= FAST_S else 0.0
    for r in range(rounds):
        # each round in its own fixed random order: a call's speed depends on what ran just before
        # it (caches warmed or polluted by the other library, its threads still spinning), so no
        # candidate should always follow the same one (listed first, ours would always follow the
        # last-listed peer's call; kNN KL at n = 2000: 0.95x back to back in the listed order,
        # 1.01x over 201 rounds of ours and the cKDTree peer alone)
        order = list(live)
        random.Random(ROUND_SEED + r).shuffle(order)
        for c in order:
            if r > 0 and best_wall[c.name] > slow_s:
                continue
            if settle:
                time.sleep(settle)
            cpu, wall, _ = _timed(c.fn)
            best_cpu[c.name] = min(best_cpu[c.name], cpu)
            best_wall[c.name] = min(best_wall[c.name], wall)
            timed_rounds[c.name] += 1
    ours = next((c for c in live if c.role == "ours"), None)
    ref = case.reference() if case.reference is not None else (values[ours.name] if ours else float("nan"))
    floor_s, floor_desc = case.floor() if case.floor is not None else (float("nan"), "")
    rows = []
    for c in case.candidates:
        row: dict[str, Any] = {"estimator": case.estimator, "case": case.case, "candidate": c.name,
                               "role": c.role, "library": c.library, "call": c.call, "note": c.note,
                               "accuracy_tol": case.accuracy_tol}
        if c.skipped or c.fn is None or c.name in errors:
            row.update(status="skipped" if (c.skipped or c.fn is None) else "failed",
                       reason=c.skipped or errors.get(c.name, ""))
            rows.append(row)
            continue
        v = values[c.name]
        row.update(status="ok", reason="", value=v, rel_diff=abs(v - ref) / max(abs(ref), 1e-300),
                   cpu_s=best_cpu[c.name], wall_s=best_wall[c.name], timed_rounds=timed_rounds[c.name])
        if ours is not None:
            # peer time / our time: > 1 means ours is faster (for an "ours-alt" row: its cost
            # relative to our primary row)
            row["ratio_cpu"] = best_cpu[c.name] / best_cpu[ours.name]
            row["ratio_wall"] = best_wall[c.name] / best_wall[ours.name]
        if c.role == "ours":
            row["floor_s"] = floor_s
            row["floor_fraction"] = floor_s / best_wall[c.name] if floor_s == floor_s else float("nan")
            row["floor"] = floor_desc
        rows.append(row)
    return rows
