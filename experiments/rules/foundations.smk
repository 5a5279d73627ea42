# Foundations (issue 2; claims C02, C03, C09-C11): analytic figures from divergences.fdiv and
# divergences.gan_objective.  No profile dependence; each runs in well under a minute on one core.


rule fdiv_conjugates:
    input:
        code=package_sources("experiments/fdiv_conjugates.py", "experiments/common.py", "divergences"),
    output:
        figure("results/figures/fdiv_conjugates.png", "Divergences and the GAN objective (C01-C12)"),
    log:
        log_path("fdiv_conjugates"),
    threads: 1
    conda:
        ENV
    shell:
        "python -m experiments.fdiv_conjugates --out {output} > {log} 2>&1"


rule optimal_discriminator:
    input:
        code=package_sources("experiments/optimal_discriminator.py", "experiments/common.py", "divergences"),
    output:
        figure("results/figures/optimal_discriminator.png", "Divergences and the GAN objective (C01-C12)"),
    log:
        log_path("optimal_discriminator"),
    threads: 1
    conda:
        ENV
    shell:
        "python -m experiments.optimal_discriminator --out {output} > {log} 2>&1"


ALL_TARGETS += [
    "results/figures/fdiv_conjugates.png",
    "results/figures/optimal_discriminator.png",
]
