"""Benchmarks: our estimators against straightforward baselines, in one process."""
