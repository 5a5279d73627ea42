"""The pipeline as the front door (issue 8): DAG dry-runs, profiles, schema, one real target.

These run Snakemake as a user would (a subprocess in the repository root or in a temporary
copy of it), so they fail if a rule file, the schema or a profile is broken.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# Every output the issues name (issues 2-8); the default DAG must produce all of them.
REQUIRED_OUTPUTS = [
    "results/figures/fdiv_conjugates.png",
    "results/figures/optimal_discriminator.png",
    "results/figures/estimator_scaling.png",
    "results/figures/disjoint_support.png",
    "results/figures/dmmd_vs_smmd.png",
    "results/figures/cmt_rates.png",
    "results/tables/disjoint_support.csv",
    "results/tables/dirac_mmd_smmd.csv",
    "results/tables/cmt.csv",
    "results/tables/cmt.md",
    "results/tables/diracgan.csv",
    "results/figures/diracgan_fields.png",
    "results/figures/diracgan_eigenvalues.png",
    "results/figures/toy_mixtures.png",
    "results/tables/toy_mixtures.csv",
    "results/figures/image_comparison_scores.png",
    "results/figures/image_comparison_samples.png",
    "results/tables/image_comparison.csv",
    "results/figures/latent_search.png",
]


def _snakemake(*args: str, cwd: Path = ROOT, timeout: float = 300,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--nolock", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)


def _without_interpreter_on_path() -> dict[str, str]:
    """The environment of a user who calls ``venv/bin/snakemake`` without activating the venv:
    this interpreter's folder is not on PATH, so a job's bare ``python`` would be another one."""
    here = os.path.dirname(sys.executable)
    path = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and os.path.realpath(d) != os.path.realpath(here)]
    return {**os.environ, "PATH": os.pathsep.join(path)}


def _summary_outputs(*args: str) -> set[str]:
    res = _snakemake("--summary", *args)
    assert res.returncode == 0, res.stdout + res.stderr
    rows = [line.split("\t")[0] for line in res.stdout.splitlines()[1:] if line.strip()]
    return set(rows)


def test_default_dag_dry_run_covers_every_output() -> None:
    res = _snakemake("-n", "--forceall", "--cores", "8")
    assert res.returncode == 0, res.stdout + res.stderr
    outputs = _summary_outputs()
    missing = [p for p in REQUIRED_OUTPUTS if p not in outputs]
    assert not missing, f"outputs not produced by the default DAG: {missing}"
    assert any(p.startswith("results/benchmarks/") for p in outputs)


def test_paper_profile_dag_dry_run() -> None:
    res = _snakemake("-n", "--forceall", "--profile", "profiles/paper", "--cores", "8")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "paper" in (ROOT / "experiments/profile_settings/paper.yaml").read_text()


def test_slurm_profile_dry_run() -> None:
    res = _snakemake("-n", "--forceall", "--profile", "profiles/slurm")
    assert res.returncode == 0, res.stdout + res.stderr
    cfg = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    assert cfg["executor"] == "slurm"


def test_schema_rejects_bad_profile_with_clear_message() -> None:
    res = _snakemake("-n", "--config", "profile=fast")
    assert res.returncode != 0
    text = res.stdout + res.stderr
    assert "profile" in text and "fast" in text


def test_schema_rejects_bad_device() -> None:
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    cfg = yaml.safe_load((ROOT / "experiments/profile_settings/quick.yaml").read_text())
    validate(dict(cfg), str(ROOT / "experiments/profile_settings/schema.yaml"))  # the shipped config is valid
    cfg["device"] = "gpu0"
    with pytest.raises(WorkflowError, match="device"):
        validate(cfg, str(ROOT / "experiments/profile_settings/schema.yaml"))


def test_one_target_runs_for_real_in_a_temporary_copy(tmp_path: Path) -> None:
    dst = tmp_path / "repo"
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(
        ".git", ".snakemake", "results", "__pycache__", "*.egg-info", ".pytest_cache", ".hypothesis"))
    target = "results/figures/fdiv_conjugates.png"  # the quickest job (about 6 s; optimal_discriminator takes 27 s)
    # run as from an unactivated venv: the jobs' `python` must still be this interpreter
    res = _snakemake("--cores", "1", target, cwd=dst, timeout=600, env=_without_interpreter_on_path())
    assert res.returncode == 0, res.stdout + res.stderr
    png = dst / target
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A second run has nothing to do.
    again = _snakemake("--cores", "1", target, "-n", cwd=dst)
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr


# --------------------------------------------------------------------------- profile sizes
SETTINGS = ROOT / "experiments/profile_settings"
SECTIONS = ("cmt_table", "disjoint_support", "toy_mixtures", "image_comparison", "mmd_bench", "frechet_bench",
            "knn_bench", "estimator_scaling")


def test_every_profile_states_every_script_section() -> None:
    """The schema requires every section in every profile file, so the config Snakemake merges
    (quick.yaml, then the profile's file) equals that file: rules and scripts see one set of numbers."""
    from experiments.common import profile_settings

    schema = yaml.safe_load((SETTINGS / "schema.yaml").read_text())
    assert set(SECTIONS) <= set(schema["required"])
    for profile in ("quick", "cpu", "paper"):
        cfg = yaml.safe_load((SETTINGS / f"{profile}.yaml").read_text())
        for section in SECTIONS:
            assert profile_settings(section, profile) == cfg[section]


def test_quick_cmt_sizes_are_the_rate_config_defaults() -> None:
    from experiments.cmt_table import rate_config
    from experiments.disjoint.cmt import RateConfig

    assert rate_config("quick") == RateConfig()
    assert rate_config("paper").ns == (64, 128, 256, 512, 1024, 2048, 4096)


def _settings_copy(tmp_path: Path, edit) -> Path:
    """A copy of experiments/profile_settings with quick.yaml's parsed content passed through ``edit``."""
    dst = tmp_path / "settings"
    shutil.copytree(SETTINGS, dst)
    cfg = yaml.safe_load((dst / "quick.yaml").read_text())
    edit(cfg)
    (dst / "quick.yaml").write_text(yaml.safe_dump(cfg))
    return dst


def test_profile_settings_names_a_missing_key(tmp_path: Path) -> None:
    from experiments.common import profile_settings

    folder = _settings_copy(tmp_path, lambda cfg: cfg["cmt_table"].pop("reps_w1"))
    with pytest.raises(ValueError, match=r"quick\.yaml breaks .*cmt_table: 'reps_w1' is a required property"):
        profile_settings("disjoint_support", "quick", folder)  # the whole file is checked


def test_profile_settings_names_an_unknown_key_and_a_wrong_type(tmp_path: Path) -> None:
    from experiments.common import profile_settings

    def edit(cfg: dict) -> None:
        cfg["toy_mixtures"]["iteration"] = 5
        cfg["mmd_bench"]["d"] = "2048"

    folder = _settings_copy(tmp_path, edit)
    with pytest.raises(ValueError, match=r"mmd_bench\.d: '2048' is not of type 'integer'.*toy_mixtures: "
                                         r"Additional properties are not allowed \('iteration' was unexpected\)"):
        profile_settings("toy_mixtures", "quick", folder)


@pytest.mark.parametrize("section, profile, message", [
    ("cmt", "quick", r"section: unknown section 'cmt'"),
    ("data", "quick", r"section: unknown section 'data'"),
    ("cmt_table", "fast", r"profile: unknown profile 'fast'.*\['cpu', 'paper', 'quick'\]"),
])
def test_profile_settings_refuses_unknown_sections_and_profiles(section: str, profile: str, message: str) -> None:
    from experiments.common import profile_settings

    with pytest.raises(ValueError, match=message):
        profile_settings(section, profile)


def test_snakemake_refuses_a_profile_file_that_breaks_the_schema() -> None:
    res = _snakemake("-n", "--config", "toy_mixtures={iterations: x, seeds: [0]}")
    assert res.returncode != 0
    text = res.stdout + res.stderr
    assert "['toy_mixtures']['iterations']" in text and "not of type 'integer'" in text
