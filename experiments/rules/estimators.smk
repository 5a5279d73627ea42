# Estimator benchmarks (claims C19, C28, C29): our code against a straightforward baseline in the
# same process; CSVs carry the machine name.  Sizes: sections mmd_bench and frechet_bench of
# experiments/profile_settings/<profile>.yaml, read by the scripts (quick, cpu: smaller n on CPU);
# the paper profile's full sizes (n = m = 10 000, d = 2048; n = 100 000 for memory) land in
# results/benchmarks/paper/ so that both sets stay side by side.
BENCH = "results/benchmarks/paper" if PROFILE == "paper" else "results/benchmarks"


rule mmd_bench:
    input:
        code=package_sources("experiments/benchmarks/mmd_bench.py", "experiments/common.py", "divergences"),
    output:
        speed=f"{BENCH}/mmd_speed.csv",
        memory=f"{BENCH}/mmd_memory.csv",
        kid=f"{BENCH}/kid_cost.csv",
    log:
        log_path("mmd_bench"),
    threads: EXCLUSIVE
    params:
        profile=PROFILE,
        sizes=config["mmd_bench"],  # what the script reads (a change reruns the rule)
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS=$(nproc) python -m experiments.benchmarks.mmd_bench --profile {params.profile} --speed {output.speed} "
        "--memory {output.memory} --kid {output.kid} > {log} 2>&1"


rule frechet_bench:
    input:
        code=package_sources("experiments/benchmarks/frechet_bench.py", "experiments/common.py", "divergences"),
    output:
        f"{BENCH}/frechet_speed.csv",
    log:
        log_path("frechet_bench"),
    threads: EXCLUSIVE
    params:
        profile=PROFILE,
        sizes=config["frechet_bench"],  # what the script reads (a change reruns the rule)
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS=$(nproc) python -m experiments.benchmarks.frechet_bench --profile {params.profile} --out {output} > {log} 2>&1"


ALL_TARGETS += [
    f"{BENCH}/mmd_speed.csv",
    f"{BENCH}/mmd_memory.csv",
    f"{BENCH}/kid_cost.csv",
    f"{BENCH}/frechet_speed.csv",
]
