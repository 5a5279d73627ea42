# C28-C31 image-scale comparison (experiments/image_comparison.py) and C35 latent search
# (experiments/latent_search.py).  One training job per (config set, method, seed), then one
# job for the figures + table and one for the latent search.  A run's config is the profile
# base experiments/train_configs/image/{imgset}.yaml overlaid with the loss file
# experiments/train_configs/image/losses/{method}.yaml (gans.config.resolve([base, loss])).
#   quick (default): CPU, mnist5k digits at 32 px, 400 generator iterations, 3 seeds (about 10 minutes);
#   cpu (snakemake --profile profiles/cpu): the same at 2 000 iterations, about an hour on 2 cores,
#        written beside the quick results (image_comparison_cpu_*);
#   paper: GPU, real CelebA 160x160 and ImageNet 64x64 at the papers' settings, one seed.
# Training jobs declare the GPU they use (resources gpu=1 in the paper profile; CPU jobs declare
# none so that they share the cores).
IMAGE_METHODS = ["wgan_gp", "sngan", "mmd_gp", "smmd", "sn_smmd"]
# config sets, seeds and threads per training job: section image_comparison of the profile file
IMAGE_SETS = config["image_comparison"]["sets"]
IMAGE_SEEDS = config["image_comparison"]["seeds"]
IMAGE_GPU = 0 if PROFILE in ("quick", "cpu") else int(config.get("gpus_per_job", 1))
# several GPUs per training job: DDP through torchrun (gans.distributed); one: plain python
IMAGE_LAUNCH = "python -m" if IMAGE_GPU <= 1 else f"torchrun --standalone --nproc_per_node={IMAGE_GPU} -m"
IMAGE_THREADS = config["image_comparison"]["threads"]
IMAGE_DATA = {"quick": None, "cpu": None, "paper_celeba160": config["data"].get("celeba"),
              "paper_imagenet64": config["data"].get("imagenet64")}
# the cpu profile writes its own figures and table beside the default (quick) ones
IMAGE_SUFFIX = "_cpu" if PROFILE == "cpu" else ""
IMAGE_RUNS = expand(run_file("image", "{imgset}/{method}/seed{seed}"), imgset=IMAGE_SETS, method=IMAGE_METHODS,
                    seed=IMAGE_SEEDS)


wildcard_constraints:
    imgset="quick|cpu|paper_celeba160|paper_imagenet64",
    method="|".join(IMAGE_METHODS),
    seed="[0-9]+",


rule image_train:
    input:
        code=package_sources("experiments/image_comparison.py", "experiments/common.py", "gans", "divergences"),
        base=lambda wc: config_chain(f"experiments/train_configs/image/{wc.imgset}.yaml"),
        loss="experiments/train_configs/image/losses/{method}.yaml",
        lenet="gans/metrics/weights/lenet_mnist5k.pt",
    output:
        run_file("image", "{imgset}/{method}/seed{seed}/run_info.json"),
    log:
        log_path("image_train_{imgset}_{method}_seed{seed}"),
    threads: IMAGE_THREADS
    resources:
        gpu=IMAGE_GPU,
    params:
        out=run_file("image", "{imgset}/{method}/seed{seed}"),
        base="experiments/train_configs/image/{imgset}.yaml",
        launch=IMAGE_LAUNCH,
        device=DEVICE,
        data=lambda wc: IMAGE_DATA[wc.imgset] or "none",
        inception=config.get("inception_weights") or "none",
    conda:
        ENV
    shell:
        "{params.launch} experiments.image_comparison train --config {params.base} {input.loss} "
        "--set seed={wildcards.seed} --out {params.out} --device {params.device} --threads {threads} "
        "--data-path {params.data} --inception {params.inception} > {log} 2>&1"


rule image_comparison:
    input:
        code=package_sources("experiments/image_comparison.py", "experiments/common.py", "gans", "divergences"),
        runs=[f"{r}/run_info.json" for r in IMAGE_RUNS],
    output:
        scores=figure(f"results/figures/image_comparison{IMAGE_SUFFIX}_scores.png",
                      "Image-scale comparison and evaluation (C28-C31, C35)"),
        samples=figure(f"results/figures/image_comparison{IMAGE_SUFFIX}_samples.png",
                       "Image-scale comparison and evaluation (C28-C31, C35)"),
        table=f"results/tables/image_comparison{IMAGE_SUFFIX}.csv",
    log:
        log_path(f"image_comparison{IMAGE_SUFFIX}"),
    threads: 1
    params:
        runs=IMAGE_RUNS,
    conda:
        ENV
    shell:
        "python -m experiments.image_comparison report --runs {params.runs} --scores {output.scores} "
        "--samples {output.samples} --table {output.table} > {log} 2>&1"


rule latent_search:
    input:
        code=package_sources("experiments/latent_search.py", "experiments/common.py", "gans", "divergences"),
        run=run_file("image", f"{IMAGE_SETS[0]}/sn_smmd/seed0/run_info.json"),
    output:
        figure("results/figures/latent_search.png", "Image-scale comparison and evaluation (C28-C31, C35)"),
    log:
        log_path("latent_search"),
    threads: 1
    params:
        run=lambda wildcards, input: str(Path(input.run).parent),
    conda:
        ENV
    shell:
        "python -m experiments.latent_search --run {params.run} --out {output} > {log} 2>&1"


IMAGE_TARGETS = [
    f"results/figures/image_comparison{IMAGE_SUFFIX}_scores.png",
    f"results/figures/image_comparison{IMAGE_SUFFIX}_samples.png",
    f"results/tables/image_comparison{IMAGE_SUFFIX}.csv",
]
ALL_TARGETS += IMAGE_TARGETS + ([] if PROFILE == "cpu" else ["results/figures/latent_search.png"])
