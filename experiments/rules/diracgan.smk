# DiracGAN dynamics through the real GAN losses (claims C24, C21, C22; issue 5).


rule diracgan:
    input:
        code=package_sources("experiments/diracgan.py", "experiments/common.py", "gans", "divergences"),
    output:
        table="results/tables/diracgan.csv",
        fields=figure("results/figures/diracgan_fields.png", "Training dynamics: DiracGAN (C24-C27)"),
        eigenvalues=figure("results/figures/diracgan_eigenvalues.png", "Training dynamics: DiracGAN (C24-C27)"),
        distance=figure("results/figures/diracgan_distance.png", "Training dynamics: DiracGAN (C24-C27)"),
    log:
        log_path("diracgan"),
    threads: 2
    conda:
        ENV
    shell:
        "python -m experiments.diracgan --jobs {threads} --table {output.table} "
        "--fields {output.fields} --eigenvalues {output.eigenvalues} --distance {output.distance} > {log} 2>&1"


ALL_TARGETS += [
    "results/tables/diracgan.csv",
    "results/figures/diracgan_fields.png",
    "results/figures/diracgan_eigenvalues.png",
    "results/figures/diracgan_distance.png",
]
