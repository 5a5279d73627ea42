"""Peer benchmarks: every estimator of ``divergences`` against the fastest library a user would
pick for the same quantity, in one process, on the same seeded inputs (issue 14, section 4).

One module per estimator (``kid``, ``fid``, ``inception``, ``mmd``, ``discrete``, ``knn``,
``oned``, ``sliced``, ``sinkhorn``, ``exact_ot``; the list is ``run.MODULES``) lists its cases (the sizes users run) and its candidates
(ours and each peer, with the exact peer call and the convention that makes the two values the
same quantity).  :mod:`.harness` times them round-robin (best of several rounds, process CPU time
and wall time), records the agreement with ours and a floor (the FLOPs or bytes the quantity cannot
avoid, converted to seconds with a rate measured in the same process), and :mod:`.run` drives one
child process per thread count (1 and 2 by default; the BLAS thread variables are set before
numpy/torch load) and writes ``results/benchmarks/peers/<estimator>.csv`` plus ``summary.csv``
and ``summary.md``.

A peer that is not installed, or fails to import (torch-fidelity, pytorch-fid and clean-fid import
torchvision, which must match the installed torch), is skipped with its reason written to the CSV,
never silently.  Peers: ``pip install -e ".[bench]"`` plus a torchvision build that matches torch.
"""
