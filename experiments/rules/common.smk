# Helpers shared by every rule file.  Scripts run as `python -m experiments.NAME` from the
# repository root; each writes a log under results/logs/.  Snakemake exports
# OMP_NUM_THREADS={threads} to every shell job, so torch uses no more cores than declared.
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

PROFILE = config["profile"]
DEVICE = config["device"]
ENV = "../envs/suite.yaml"  # conda environment of every rule (relative to this folder)

# The rules' `python` (and `torchrun`) is the interpreter running Snakemake: a venv's
# `venv/bin/snakemake` or `venv/bin/python -m snakemake` works without activating the venv
# (else jobs would find the system python, without torch).  A conda rule still gets its
# environment's python, which conda puts first on PATH inside the job.
_BIN = os.path.dirname(sys.executable)
_PATH = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
if _PATH[:1] != [_BIN]:
    os.environ["PATH"] = os.pathsep.join([_BIN, *_PATH])


# Benchmarks claim every core slot so that no other job runs beside them (their timings are
# reported); their shell commands set OMP_NUM_THREADS=$(nproc), the machine's real core count.
try:
    EXCLUSIVE = workflow.cores
except WorkflowError:  # no --cores given (--summary, --report, cluster executors): no local sharing
    EXCLUSIVE = 1


def package_sources(*paths):
    """The code a rule runs, as its inputs: each file as given, each folder as every ``.py`` and
    ``.yaml`` file under it (sorted; caches excluded).  Listing whole packages (``"gans"``,
    ``"divergences"``) means a change to any loss, network or estimator reruns the rule;
    tests/test_rule_inputs.py checks this with dry runs."""
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out += sorted(str(f) for f in p.rglob("*") if f.suffix in (".py", ".yaml") and "__pycache__" not in f.parts)
        elif p.is_file():
            out.append(str(p))
        else:
            raise WorkflowError(f"package_sources: {p} does not exist")
    return out


def config_chain(path):
    """A training config and every file it inherits through ``defaults:`` (a path or a list of
    paths, relative to the naming file), so that editing a parent reruns the rule too."""
    import yaml

    out, todo = [], [Path(path)]
    while todo:
        p = todo.pop()
        out.append(str(p))
        parents = (yaml.safe_load(p.read_text()) or {}).get("defaults") or []
        todo += [p.parent / q for q in ([parents] if isinstance(parents, str) else parents)]
    return out


def log_path(name):
    return f"results/logs/{name}.log"


def figure(path, category):
    """Mark a figure for `snakemake --report`; its caption is experiments/report/<stem>.rst."""
    return report(path, caption=f"../report/{Path(path).stem}.rst", category=category)


def run_file(kind, path):
    """A file under runs/<kind>_<profile>/ (training runs; not committed)."""
    return f"runs/{kind}_{PROFILE}/{path}"
