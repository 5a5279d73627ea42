# C26 mode collapse on 2-D mixtures (experiments/toy_mixtures.py): one training job per loss
# (both mixtures, every seed of the profile; CPU only, tiny MLPs: no GPU even in the paper
# profile), then one job that draws the figure and writes the table.
TOY_LOSSES = sorted(l for l in glob_wildcards("experiments/train_configs/toy/{loss}.yaml").loss if l != "common")
TOY_MIXTURES = ["ring", "grid"]
TOY_SEEDS = config["toy_mixtures"]["seeds"]  # experiments/toy_mixtures.py reads the same section


rule toy_train:
    input:
        code=package_sources("experiments/toy_mixtures.py", "experiments/common.py", "gans", "divergences"),
        config=lambda wc: config_chain(f"experiments/train_configs/toy/{wc.loss}.yaml"),
    output:
        expand(run_file("toy", "{mixture}/{{loss}}/seed{seed}/summary.json"), mixture=TOY_MIXTURES, seed=TOY_SEEDS),
    log:
        log_path("toy_train_{loss}"),
    threads: 1
    params:
        profile=PROFILE,
        sizes=config["toy_mixtures"],  # what the script reads (a change reruns the rule)
        root=lambda wildcards, output: str(Path(output[0]).parents[3]),
    conda:
        ENV
    shell:
        "python -m experiments.toy_mixtures run --loss {wildcards.loss} --profile {params.profile} "
        "--root {params.root} > {log} 2>&1"


rule toy_mixtures:
    input:
        expand(run_file("toy", "{mixture}/{loss}/seed{seed}/summary.json"), mixture=TOY_MIXTURES, loss=TOY_LOSSES,
               seed=TOY_SEEDS),
    output:
        figure=figure("results/figures/toy_mixtures.png", "Mode collapse on 2-D mixtures (C26, C34)"),
        table="results/tables/toy_mixtures.csv",
    log:
        log_path("toy_mixtures"),
    threads: 1
    params:
        profile=PROFILE,
        sizes=config["toy_mixtures"],  # what the script reads (a change reruns the rule)
        root=lambda wildcards, input: str(Path(input[0]).parents[3]),
    conda:
        ENV
    shell:
        "python -m experiments.toy_mixtures plot --root {params.root} --profile {params.profile} "
        "--figure {output.figure} --table {output.table} > {log} 2>&1"


ALL_TARGETS += ["results/figures/toy_mixtures.png", "results/tables/toy_mixtures.csv"]
