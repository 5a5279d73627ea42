# Disjoint supports, weak continuity and the (C)(M)(T) table (claims C04-C07, C13, C21, C22).


rule dmmd_smmd:
    input:
        code=package_sources("experiments/dmmd_smmd.py", "experiments/common.py", "experiments/disjoint", "divergences",
                             "gans"),
    output:
        table="results/tables/dirac_mmd_smmd.csv",
        figure=figure("results/figures/dmmd_vs_smmd.png", "Weak continuity and tractability (C04-C07, C13, C21, C22)"),
    log:
        log_path("dmmd_smmd"),
    threads: 1
    conda:
        ENV
    shell:
        "python -m experiments.dmmd_smmd --table {output.table} "
        "--figure {output.figure} > {log} 2>&1"


rule disjoint_support:
    input:
        code=package_sources("experiments/disjoint_support.py", "experiments/common.py", "experiments/disjoint",
                             "divergences", "gans"),
    output:
        table="results/tables/disjoint_support.csv",
        figure=figure("results/figures/disjoint_support.png", "Weak continuity and tractability (C04-C07, C13, C21, C22)"),
    log:
        log_path("disjoint_support"),
    threads: 1
    params:
        profile=PROFILE,
        sizes=config["disjoint_support"],  # what the script reads (a change reruns the rule)
    conda:
        ENV
    shell:
        "python -m experiments.disjoint_support --profile {params.profile} --table {output.table} "
        "--figure {output.figure} > {log} 2>&1"


rule cmt_table:
    input:
        code=package_sources("experiments/cmt_table.py", "experiments/common.py", "experiments/disjoint",
                             "divergences", "gans"),
    output:
        table="results/tables/cmt.csv",
        markdown="results/tables/cmt.md",
        rates="results/tables/cmt_rates.csv",
        figure=figure("results/figures/cmt_rates.png", "Weak continuity and tractability (C04-C07, C13, C21, C22)"),
    log:
        log_path("cmt_table"),
    threads: 1
    params:
        profile=PROFILE,
        sizes=config["cmt_table"],  # what the script reads (a change reruns the rule)
    conda:
        ENV
    shell:
        "python -m experiments.cmt_table --profile {params.profile} --table {output.table} "
        "--markdown {output.markdown} --rates {output.rates} --figure {output.figure} > {log} 2>&1"


ALL_TARGETS += [
    "results/tables/dirac_mmd_smmd.csv",
    "results/figures/dmmd_vs_smmd.png",
    "results/tables/disjoint_support.csv",
    "results/figures/disjoint_support.png",
    "results/tables/cmt.csv",
    "results/tables/cmt.md",
    "results/tables/cmt_rates.csv",
    "results/figures/cmt_rates.png",
]
