# Transport / kNN estimators (helper C): cost-against-n figure (C07 T, C13, C18-C19) and the
# kNN KL benchmark against a per-point loop.


rule estimator_scaling:
    input:
        code=package_sources("experiments/benchmarks/scaling.py", "experiments/common.py", "divergences"),
    output:
        csv="results/benchmarks/estimator_scaling.csv",
        png=figure("results/figures/estimator_scaling.png", "Estimators and benchmarks (C13-C20, C28-C30)"),
    log:
        log_path("estimator_scaling"),
    threads: EXCLUSIVE
    params:
        profile=PROFILE,
        sizes=config["estimator_scaling"],  # what the script reads (a change reruns the rule)
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS=$(nproc) python -m experiments.benchmarks.scaling --profile {params.profile} --csv {output.csv} --png {output.png} > {log} 2>&1"


rule knn_bench:
    input:
        code=package_sources("experiments/benchmarks/knn_bench.py", "experiments/common.py", "divergences"),
    output:
        "results/benchmarks/knn_kl.csv",
    log:
        log_path("knn_bench"),
    threads: EXCLUSIVE
    params:
        profile=PROFILE,
        sizes=config["knn_bench"],  # what the script reads (a change reruns the rule)
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS=$(nproc) python -m experiments.benchmarks.knn_bench --profile {params.profile} --out {output} > {log} 2>&1"


ALL_TARGETS += [
    "results/benchmarks/estimator_scaling.csv",
    "results/figures/estimator_scaling.png",
    "results/benchmarks/knn_kl.csv",
]
