# Helpers shared by every rule file.  Scripts run as `python -m experiments.NAME` from the
# repository root; each writes a log under results/logs/.
PROFILE = config["profile"]
DEVICE = config["device"]


def log_path(name):
    return f"results/logs/{name}.log"
