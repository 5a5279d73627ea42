"""Thin scripts, one per figure or table, run by the Snakemake pipeline (``python -m experiments.X``)."""
