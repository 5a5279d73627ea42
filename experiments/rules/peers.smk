# Peer benchmarks (issue 14, section 4): every estimator against the fastest library a user would
# pick (torchmetrics, torch-fidelity, pytorch-fid, clean-fid, POT, geomloss, scikit-learn, scipy,
# plain torch), 1 and 2 threads, one process per thread count.  Not part of the default target:
# the peers are not in the ".[dev]" install (torch-fidelity, pytorch-fid and clean-fid need a
# torchvision that matches torch).  Run `pip install -e ".[bench]"` plus that torchvision, then
# `snakemake --cores 8 peer_benchmarks`, alone on the machine.  Absent peers are skipped with
# their reason in the CSVs.
import sys

# the module list has one home, experiments/benchmarks/peers/run.py (experiments/ is not installed:
# imported from the workflow's own directory)
if workflow.basedir not in sys.path:
    sys.path.insert(0, workflow.basedir)
from experiments.benchmarks.peers.run import MODULES as PEER_MODULES


rule peer_benchmarks:
    input:
        code=package_sources("experiments/benchmarks/peers", "experiments/common.py", "divergences"),
    output:
        expand("results/benchmarks/peers/{module}.csv", module=PEER_MODULES),
        summary="results/benchmarks/peers/summary.csv",
        table="results/benchmarks/peers/summary.md",
    log:
        log_path("peer_benchmarks"),
    threads: EXCLUSIVE
    conda:
        ENV
    shell:
        "python -m experiments.benchmarks.peers.run --out results/benchmarks/peers > {log} 2>&1"
