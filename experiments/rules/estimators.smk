# Estimator benchmarks (claims C19, C28, C29): our code against a straightforward baseline in the
# same process; CSVs carry the machine name.  Sizes follow --profile (quick: smaller n on CPU).


rule mmd_bench:
    input:
        "experiments/benchmarks/mmd_bench.py",
        "divergences/mmd.py",
        "divergences/kernels.py",
        "divergences/evaluation.py",
    output:
        speed="results/benchmarks/mmd_speed.csv",
        memory="results/benchmarks/mmd_memory.csv",
        kid="results/benchmarks/kid_cost.csv",
    log:
        log_path("mmd_bench"),
    threads: 2
    shell:
        "python -m experiments.benchmarks.mmd_bench --profile {PROFILE} --speed {output.speed} "
        "--memory {output.memory} --kid {output.kid} > {log} 2>&1"


rule frechet_bench:
    input:
        "experiments/benchmarks/frechet_bench.py",
        "divergences/evaluation.py",
    output:
        "results/benchmarks/frechet_speed.csv",
    log:
        log_path("frechet_bench"),
    threads: 2
    shell:
        "python -m experiments.benchmarks.frechet_bench --profile {PROFILE} --out {output} > {log} 2>&1"


ALL_TARGETS += [
    "results/benchmarks/mmd_speed.csv",
    "results/benchmarks/mmd_memory.csv",
    "results/benchmarks/kid_cost.csv",
    "results/benchmarks/frechet_speed.csv",
]
