# The front door: `snakemake --cores 8` regenerates every figure and table under results/.
# Rules live in experiments/rules/*.smk, grouped by figure; this file only wires them.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "experiments/profile_settings/quick.yaml"


validate(config, "experiments/profile_settings/schema.yaml")

ALL_TARGETS = []


include: "experiments/rules/common.smk"
include: "experiments/rules/foundations.smk"
include: "experiments/rules/estimators.smk"
include: "experiments/rules/transport.smk"
include: "experiments/rules/disjoint.smk"
include: "experiments/rules/diracgan.smk"
include: "experiments/rules/toy.smk"
include: "experiments/rules/images.smk"
include: "experiments/rules/feature_net.smk"
include: "experiments/rules/peers.smk"


# the cpu profile (snakemake --profile profiles/cpu) runs only the longer image comparison
rule all:
    default_target: True
    input:
        IMAGE_TARGETS if PROFILE == "cpu" else ALL_TARGETS,
