"""Rules cannot go stale (issue 12 item 5): every rule lists the package sources it runs
(``package_sources`` in experiments/rules/common.smk), so changing a loss reruns every figure
trained through it and nothing else.  Checked with Snakemake dry runs on a copy of the tree:
mark everything up to date (``--touch``), change one source file, list the jobs ``-n`` would
run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRAINED = {"image_train", "image_comparison", "latent_search", "toy_train", "toy_mixtures", "diracgan"}
DIVERGENCES_ONLY = {"fdiv_conjugates", "optimal_discriminator", "mmd_bench", "frechet_bench", "estimator_scaling",
                    "knn_bench"}


def _snakemake(cwd: Path, *args: str) -> str:
    exe = Path(sys.executable).with_name("snakemake")
    res = subprocess.run([str(exe) if exe.exists() else "snakemake", *args], cwd=cwd, capture_output=True, text=True,
                         timeout=600, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout + res.stderr


def _jobs(text: str) -> set[str]:
    """Rule names in the dry run's 'Job stats' table."""
    if "Nothing to be done" in text:
        return set()
    table = text.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+\s*$", table, re.M)} - {"all"}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the workflow's files (the committed and the new ones), all outputs up to date."""
    dst = tmp_path_factory.mktemp("tree")
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.fail(f"needs a git checkout of the repository: {listed.stderr.strip()}")
    for rel in listed.stdout.split("\n"):
        src = ROOT / rel
        if rel and src.is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)
    # --forceall: touch every job, so each records its metadata (params, code); a plain --touch
    # records none, and a params change would then rerun nothing unless an earlier test happened
    # to touch that job (the order dependence this fixture once had)
    _snakemake(dst, "--cores", "1", "--touch", "--forceall", "--quiet")
    assert _jobs(_snakemake(dst, "-n")) == set()
    return dst


def _restore(path: Path, before: bytes, mtime_ns: int) -> None:
    """Put back a file's bytes and its modification time: the tree is up to date again without a
    ``--touch`` run (same content, so same checksums; same mtime, so no input newer than its output)."""
    path.write_bytes(before)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def _after_touching(tree: Path, rel: str) -> set[str]:
    """Jobs a dry run lists after ``rel`` changes.  The content changes (a comment appended):
    Snakemake compares recorded checksums, so a newer mtime alone does not count as a change."""
    path = tree / rel
    before, mtime_ns = path.read_bytes(), path.stat().st_mtime_ns
    time.sleep(0.05)
    path.write_bytes(before + b"\n# changed by tests/test_rule_inputs.py\n")
    try:
        return _jobs(_snakemake(tree, "-n"))
    finally:
        _restore(path, before, mtime_ns)


def test_changing_a_loss_reruns_every_trained_figure_and_nothing_else(tree: Path) -> None:
    jobs = _after_touching(tree, "gans/losses/base.py")
    assert TRAINED <= jobs, TRAINED - jobs
    assert not jobs & DIVERGENCES_ONLY, jobs & DIVERGENCES_ONLY


def test_changing_an_estimator_reruns_its_figures(tree: Path) -> None:
    jobs = _after_touching(tree, "divergences/fdiv.py")
    assert {"fdiv_conjugates", "optimal_discriminator", "disjoint_support"} <= jobs


def test_changing_a_parent_config_reruns_its_children(tree: Path) -> None:
    jobs = _after_touching(tree, "experiments/train_configs/toy/common.yaml")
    assert {"toy_train", "toy_mixtures"} <= jobs and "image_train" not in jobs


def test_changing_a_profile_size_reruns_only_the_script_that_reads_it(tree: Path) -> None:
    """Sizes live in experiments/profile_settings/<profile>.yaml, one section per script; each rule
    lists its section as a param, so editing one number reruns that script alone, and a comment
    reruns nothing."""
    assert _after_touching(tree, "experiments/profile_settings/quick.yaml") == set()
    path = tree / "experiments/profile_settings/quick.yaml"
    before, mtime_ns = path.read_bytes(), path.stat().st_mtime_ns
    assert before.count(b"  reps_w1: 10\n") == 1
    path.write_bytes(before.replace(b"  reps_w1: 10\n", b"  reps_w1: 11\n"))
    try:
        jobs = _jobs(_snakemake(tree, "-n"))
    finally:
        _restore(path, before, mtime_ns)
    assert jobs == {"cmt_table"}, jobs
