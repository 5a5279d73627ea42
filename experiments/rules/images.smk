# C28-C31 image-scale comparison (experiments/image_comparison.py) and C35 latent search
# (experiments/latent_search.py).  One training job per (config set, method), then one job
# for the figures + table and one for the latent search.
#   quick: CPU, the LFW-faces stand-in at 32 px, a few hundred iterations (2 cores, minutes);
#   paper: GPU, real CelebA 160x160 and ImageNet 64x64 at the papers' settings.
# Training jobs declare the GPU they use (resources gpu=1 in the paper profile; the quick
# profile's CPU jobs declare none so that they share the cores).
IMAGE_METHODS = ["wgan_gp", "sngan", "mmd_gp", "smmd", "sn_smmd"]
IMAGE_SETS = ["quick"] if PROFILE == "quick" else ["paper_celeba160", "paper_imagenet64"]
IMAGE_GPU = 0 if PROFILE == "quick" else int(config.get("gpus_per_job", 1))
# several GPUs per training job: DDP through torchrun (gans.distributed); one: plain python
IMAGE_LAUNCH = "python -m" if IMAGE_GPU <= 1 else f"torchrun --standalone --nproc_per_node={IMAGE_GPU} -m"
IMAGE_THREADS = 1 if PROFILE == "quick" else 8
IMAGE_DATA = {"quick": None, "paper_celeba160": config["data"].get("celeba"),
              "paper_imagenet64": config["data"].get("imagenet64")}


wildcard_constraints:
    imgset="quick|paper_celeba160|paper_imagenet64",
    method="|".join(IMAGE_METHODS),


rule image_train:
    input:
        script="experiments/image_comparison.py",
        base="experiments/configs/image/base_{imgset}.yaml",
        config="experiments/configs/image/{imgset}/{method}.yaml",
    output:
        run_file("image", "{imgset}/{method}/run_info.json"),
    log:
        log_path("image_train_{imgset}_{method}"),
    threads: IMAGE_THREADS
    resources:
        gpu=IMAGE_GPU,
    params:
        out=run_file("image", "{imgset}/{method}"),
        launch=IMAGE_LAUNCH,
        device=DEVICE,
        data=lambda wc: IMAGE_DATA[wc.imgset] or "none",
        inception=config.get("inception_weights") or "none",
    conda:
        ENV
    shell:
        "{params.launch} experiments.image_comparison train --config {input.config} --out {params.out} "
        "--device {params.device} --threads {threads} --data-path {params.data} --inception {params.inception} "
        "> {log} 2>&1"


rule image_comparison:
    input:
        script="experiments/image_comparison.py",
        runs=expand(run_file("image", "{imgset}/{method}/run_info.json"), imgset=IMAGE_SETS, method=IMAGE_METHODS),
    output:
        scores=figure("results/figures/image_comparison_scores.png", "Image-scale comparison and evaluation (C28-C31, C35)"),
        samples=figure("results/figures/image_comparison_samples.png", "Image-scale comparison and evaluation (C28-C31, C35)"),
        table="results/tables/image_comparison.csv",
    log:
        log_path("image_comparison"),
    threads: 1
    params:
        runs=expand(run_file("image", "{imgset}/{method}"), imgset=IMAGE_SETS, method=IMAGE_METHODS),
    conda:
        ENV
    shell:
        "python -m experiments.image_comparison report --runs {params.runs} --scores {output.scores} "
        "--samples {output.samples} --table {output.table} > {log} 2>&1"


rule latent_search:
    input:
        script="experiments/latent_search.py",
        run=run_file("image", f"{IMAGE_SETS[0]}/sn_smmd/run_info.json"),
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


ALL_TARGETS += [
    "results/figures/image_comparison_scores.png",
    "results/figures/image_comparison_samples.png",
    "results/tables/image_comparison.csv",
    "results/figures/latent_search.png",
]
