"""The trainer's GPU code paths, run on the CPU: bf16 autocast, channels_last, torch.compile, the
float32 kernel head, host synchronisations per iteration, lazy imports.

What runs where:

* default run: one optimisation step (critic + generator, :func:`gans.step.alternating_step`)
  under bf16 autocast + channels_last for a representative subset of (network, resolution,
  loss): every loss of the comparison (WGAN-GP, SN-GAN, MMD-GAN-GP, SMMD, SN-SMMD, configured as
  in ``experiments/train_configs/image/quick.yaml`` + ``losses/``), both networks and all four resolutions, each at least
  once (``FAST_CASES``); torch.compile (inductor, needs a C++ compiler) for SN-GAN (generator and
  critic compiled) and WGAN-GP (generator compiled, critic eager: double backward); the kernel
  head against ``divergences``; the sync count; the non-blocking copies; the device-to-host copy
  counter (on 'meta');
* ``-m slow``: the full cross product {DCGAN, ResNet} x {32, 64, 128, 160} x 5 losses, eager and
  compiled;
* ``-m gpu``: the same on CUDA (fails, does not skip, without a GPU), plus the estimators on CUDA
  tensors: the kernel head, the exact 1-D distance, and Sinkhorn and exact OT (values, device, host
  copies).

Widths are reduced (``ch`` 4) and batches tiny (2), so a step takes about a second.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import divergences as dv
from gans.config import resolve
from gans.losses import penalties as pen
from gans.losses.mmd import feature_mmd2, feature_witness
from gans.nets import build_discriminator, build_generator
from gans.step import alternating_step
from gans.train import (BatchStream, autocast_context, build_loss, compile_networks, needs_double_backward,
                        train)

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT / "experiments" / "train_configs" / "image"


def _quick(loss_name: str) -> list[Path]:
    """The quick comparison config of ``loss_name``: the profile base overlaid with the loss file."""
    return [IMAGE / "quick.yaml", IMAGE / "losses" / f"{loss_name}.yaml"]
LOSSES = ("wgan_gp", "sngan", "mmd_gp", "smmd", "sn_smmd")
ARCHS = ("dcgan", "resnet")
RESOLUTIONS = (32, 64, 128, 160)
FULL = [(a, r, ln) for a in ARCHS for r in RESOLUTIONS for ln in LOSSES]
# every loss, both networks and all four resolutions at least once
FAST_CASES = [("dcgan", 32, "wgan_gp"), ("dcgan", 64, "sngan"), ("dcgan", 128, "mmd_gp"), ("dcgan", 160, "sn_smmd"),
              ("resnet", 32, "smmd"), ("resnet", 64, "sn_smmd"), ("resnet", 128, "wgan_gp"), ("resnet", 160, "mmd_gp")]
U_BF16, U_FP32 = 2.0 ** -8, 2.0 ** -24  # unit roundoffs


def _setup(loss_name: str, arch: str, res: int, device: str = "cpu", ch: int = 4, latent: int = 16):
    """G, D and the loss of a comparison config, at ``res`` px with the ``arch`` networks."""
    cfg = resolve(_quick(loss_name))
    dsec = cfg["discriminator"]
    gcfg = {"name": arch, "resolution": res, "ch": ch, "latent_dim": latent}
    dcfg = {"name": arch, "resolution": res, "ch": ch, "out_dim": dsec["out_dim"],
            "spectral": dsec.get("spectral", False), "learnable_scale": dsec.get("learnable_scale", False)}
    G = build_generator(gcfg, seed=1).to(device)
    D = build_discriminator(dcfg, seed=2).to(device)
    loss = build_loss(cfg["loss"], torch.Generator().manual_seed(3))
    return G, D, loss


def _one_step(arch: str, res: int, loss_name: str, *, compile: bool, device: str = "cpu", batch: int = 2) -> None:
    """One critic + one generator step under bf16 autocast and channels_last, then the checks."""
    G, D, loss = _setup(loss_name, arch, res, device)
    G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    named = [("G." + n, p) for n, p in G.named_parameters()] + [("D." + n, p) for n, p in D.named_parameters()]
    before = {n: p.detach().clone() for n, p in named}
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))
    Gw, Dw, note = compile_networks(G, D, loss, compile)
    if compile:
        assert ("critic left eager" in note) == needs_double_backward(loss), note
    gen = torch.Generator().manual_seed(0)

    def real() -> torch.Tensor:
        x = torch.rand(batch, 3, res, res, generator=gen) * 2 - 1
        return x.to(device).contiguous(memory_format=torch.channels_last)

    def z() -> torch.Tensor:
        return (torch.rand(batch, 16, generator=gen) * 2 - 1).to(device)

    with autocast_context(torch.device(device), "bf16"):
        logs = alternating_step(Gw, Dw, loss, opt_g, opt_d, real, z, n_critic=1)
    bad = {k: float(v) for k, v in logs.items() if not torch.isfinite(v)}
    assert not bad, f"non-finite losses {bad}"
    # The critic's output bias has an identically zero gradient whenever the critic loss is
    # invariant to a constant shift of the critic output (IPM losses, shift-invariant MMD, the
    # hinge in its linear part); every other parameter must move.
    last = [n for n, m in D.named_modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))][-1]
    out_bias = f"D.{last}.bias"
    grads = dict(named)
    for n, p in named:
        if torch.equal(before[n], p.detach()):
            g = grads[n].grad
            assert n == out_bias and (g is None or not g.any()), f"{n} did not change (gradient {g})"


def _require_cxx() -> None:
    if shutil.which("g++") is None and shutil.which("c++") is None:
        pytest.fail("torch.compile (inductor on CPU) needs a C++ compiler and none is on PATH; "
                    "install g++ (.ci/run does: apt-get install -y g++)")


# --------------------------------------------------------------------------------------------
# one step per (network, resolution, loss)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch,res,loss_name", FAST_CASES)
def test_bf16_channels_last_step(arch: str, res: int, loss_name: str) -> None:
    _one_step(arch, res, loss_name, compile=False)


@pytest.mark.slow
@pytest.mark.parametrize("arch,res,loss_name", FULL)
def test_bf16_channels_last_step_full(arch: str, res: int, loss_name: str) -> None:
    _one_step(arch, res, loss_name, compile=False)


@pytest.mark.parametrize("loss_name", ["sngan", "wgan_gp"])
def test_compiled_step(loss_name: str) -> None:
    """SN-GAN: both networks compiled (spectral norm under parametrize.cached); WGAN-GP: the
    critic stays eager (double backward), the generator is compiled."""
    _require_cxx()
    torch._dynamo.reset()
    _one_step("dcgan", 32, loss_name, compile=True)


@pytest.mark.slow
@pytest.mark.parametrize("arch,res,loss_name", FULL)
def test_compiled_step_full(arch: str, res: int, loss_name: str) -> None:
    _require_cxx()
    torch._dynamo.reset()
    _one_step(arch, res, loss_name, compile=True)


def test_compile_policy() -> None:
    """Double-backward losses keep the critic eager and say so; the others compile both."""
    for name in LOSSES:
        _, _, loss = _setup(name, "dcgan", 32)
        expect = name != "sngan"  # GP, witness GP, SMMD scale (also SN-SMMD)
        assert needs_double_backward(loss) is expect, name
    assert compile_networks(torch.nn.Linear(1, 1), torch.nn.Linear(1, 1), object(), False)[2] == ""


# --------------------------------------------------------------------------------------------
# kernel head: same estimators as divergences, float32 under autocast
# --------------------------------------------------------------------------------------------
def _gram_scale(kernel: Any, fx: torch.Tensor, fy: torch.Tensor) -> float:
    """``S = mean|Kxx| + mean|Kyy| + 2 mean|Kxy|``: the size of the sums MMD^2 is formed from."""
    k = dv.kernels.get(kernel) if isinstance(kernel, str) else kernel
    g = [k.gram(a.double(), b.double()).abs().mean() for a, b in ((fx, fx), (fy, fy), (fx, fy))]
    return float(g[0] + g[1] + 2 * g[2])


@pytest.mark.parametrize("kernel", ["gaussian", "mix_rq_1dot", "linear"])
@pytest.mark.parametrize("estimator", ["unbiased", "biased", "linear"])
def test_head_matches_divergences(kernel: str, estimator: str) -> None:
    """float64: the head equals dv.mmd2 / dv.mmd_witness up to float64 rounding of sums of
    ``k + 2``-term distances: ``|diff| <= 64 (k + 2) 2^-53 S``."""
    gen = torch.Generator().manual_seed(0)
    k = dv.kernels.get(kernel)
    for d in (1, 16):
        fx = torch.randn(9, d, generator=gen, dtype=torch.float64)
        fy = torch.randn(7, d, generator=gen, dtype=torch.float64) + 0.5
        tol = 64 * (d + 2) * 2.0 ** -53 * _gram_scale(k, fx, fy)
        assert abs(float(feature_mmd2(fx, fy, k, estimator)) - float(dv.mmd2(fx, fy, k, estimator))) <= tol
        ft = torch.randn(5, d, generator=gen, dtype=torch.float64)
        diff = (feature_witness(ft, fx, fy, k) - dv.mmd_witness(ft, fx, fy, k)).abs().max()
        assert float(diff) <= tol


def test_head_is_float32_under_bf16_autocast(monkeypatch: pytest.MonkeyPatch) -> None:
    """bf16 critic features (as autocast emits them): the head under CPU bf16 autocast equals the
    float64 MMD^2 of the same features within a float32 bound, ``4 (k + 3) 2^-24 (1 + R) S``
    (each Gram entry: ``k + 3`` roundings of the squared distance, amplified by the exponent
    ``R = max ||a - b||^2 / 2`` of the Gaussian, plus its own rounding).  A head evaluated in bf16
    misses that bound by orders of magnitude (checked below), which is what MMD-GP and SMMD
    suffered under CPU autocast (MMD^2 rounded to 0)."""
    gen = torch.Generator().manual_seed(1)
    k = dv.kernels.get("gaussian")
    d = 16
    fx = (0.3 * torch.randn(32, d, generator=gen)).bfloat16()
    fy = (0.3 * torch.randn(32, d, generator=gen) + 0.05).bfloat16()
    ref = float(dv.mmd2(fx.double(), fy.double(), k))
    R = float(torch.cdist(torch.cat([fx, fy]).double(), torch.cat([fx, fy]).double()).max() ** 2 / 2)
    tol = 4 * (d + 3) * U_FP32 * (1 + R) * _gram_scale(k, fx, fy)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = feature_mmd2(fx, fy, k)
    assert got.dtype == torch.float32
    assert abs(float(got) - ref) <= tol, (float(got), ref, tol)
    # the same head forced to stay in bf16 (no cast, autocast left on) is far outside the bound
    import gans.losses.mmd as gmmd
    monkeypatch.setattr(gmmd, "_head_dtype", lambda t: t)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bad = feature_mmd2(fx, fy, k)
    assert abs(float(bad) - ref) > tol


@pytest.mark.parametrize("loss_name", ["mmd_gp", "smmd"])
def test_bf16_loss_vs_fp32(loss_name: str) -> None:
    """The critic's MMD^2 under bf16 autocast vs fp32 on the same weights and batch: the
    difference is the first-order effect of the features' bf16 error, ``sum_i |dMMD^2/df_i|
    |f_i^bf16 - f_i^fp32|``, doubled to cover the second-order remainder, plus the head's own
    float32 bound; MMD^2 rounded in bf16 (2^-8 relative, or exactly 0) exceeds it."""
    G, D, loss = _setup(loss_name, "dcgan", 32, ch=8)
    gen = torch.Generator().manual_seed(0)
    real = torch.rand(16, 3, 32, 32, generator=gen) * 2 - 1
    with torch.no_grad():
        fake = G(torch.rand(16, 16, generator=gen) * 2 - 1)
    with torch.no_grad():
        f32 = [D(real).reshape(16, -1), D(fake).reshape(16, -1)]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fb = [D(real).reshape(16, -1).float(), D(fake).reshape(16, -1).float()]
    fr = [f.clone().requires_grad_(True) for f in f32]
    m32 = feature_mmd2(fr[0], fr[1], loss.kernel)
    grads = torch.autograd.grad(m32, fr)
    m32 = m32.detach()
    first = sum(float((g.abs() * (b - a).abs()).sum()) for g, a, b in zip(grads, f32, fb))
    d = f32[0].shape[1]
    bound = 2 * first + 4 * (d + 3) * U_FP32 * _gram_scale(loss.kernel, fb[0], fb[1]) * 4
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _, logs = loss.d_loss(D, real, fake)
    err = abs(float(logs["mmd2"]) - float(m32))
    print(f"{loss_name}: MMD^2 fp32 {float(m32):.6g}, bf16 autocast {float(logs['mmd2']):.6g}, "
          f"|diff| {err:.3g}, bound {bound:.3g}")
    assert err <= bound, (float(logs["mmd2"]), float(m32), bound)
    # informative: below the 2^-8 S rounding of a head summed in bf16
    assert bound < U_BF16 * _gram_scale(loss.kernel, fb[0], fb[1])


# --------------------------------------------------------------------------------------------
# host synchronisations
# --------------------------------------------------------------------------------------------
_SYNC_OPS = {"_local_scalar_dense", "nonzero", "unique", "_unique", "_unique2", "unique_dim",
             "unique_consecutive", "masked_select", "equal"}


class _SyncCounter(TorchDispatchMode):
    """Counts the aten ops that read a device value back to the host on CUDA (``.item()``,
    ``bool()``, ``float()``, ``nonzero``, ``unique``, boolean indexing), plus ``Tensor.tolist``
    (which bypasses the dispatcher), when the call comes from this repository.  Host-side
    counters are excluded: ``torch.optim`` reads its step count, a CPU tensor even on CUDA."""

    def __init__(self) -> None:
        super().__init__()
        self.where: dict[str, int] = {}

    def hit(self, what: str) -> None:
        stack = traceback.extract_stack()
        if any("/torch/optim/" in f.filename for f in stack):
            return
        mine = [f for f in stack if str(ROOT) in f.filename and "/tests/" not in f.filename]
        if mine:
            key = f"{what} {Path(mine[-1].filename).relative_to(ROOT)}:{mine[-1].lineno}"
            self.where[key] = self.where.get(key, 0) + 1

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        boolean_index = name == "index" and any(isinstance(t, torch.Tensor) and t.dtype == torch.bool
                                                 for t in (args[1] if len(args) > 1 else []) if t is not None)
        if name in _SYNC_OPS or boolean_index:
            self.hit(name)
        return func(*args, **kwargs)

    @property
    def n(self) -> int:
        return sum(self.where.values())


@contextmanager
def _count_syncs() -> Iterator[_SyncCounter]:
    counter = _SyncCounter()
    orig = torch.Tensor.tolist

    def tolist(self):
        counter.hit("tolist")
        return orig(self)

    torch.Tensor.tolist = tolist
    try:
        with counter:
            yield counter
    finally:
        torch.Tensor.tolist = orig


def _syncs_per_iteration(loss_name: str, nan_check_every: int) -> tuple[float, dict[str, float]]:
    """(syncs per generator iteration, where): train() for 4 and for 2 iterations, difference / 2
    (set-up, the final metrics row and the final checkpoint cancel)."""
    counts = []
    for iters in (2, 4):
        cfg = resolve(_quick(loss_name),
                      [f"train.iterations={iters}", "train.batch_size=4", "generator.ch=4", "discriminator.ch=4",
                       "data.name=random_images", "data.n=64", "data.resolution=32", "data.channels=1",
                       "train.log_every=1000", "train.checkpoint_every=0", "train.sample_every=0", "eval.every=0",
                       f"train.nan_check_every={nan_check_every}", "train.ema_halflife_images=100"])
        with tempfile.TemporaryDirectory() as out, _count_syncs() as c:
            train(cfg, out)
        counts.append(c.where)
    keys = set(counts[0]) | set(counts[1])
    diff = {k: (counts[1].get(k, 0) - counts[0].get(k, 0)) / 2 for k in keys}
    return sum(diff.values()), {k: v for k, v in diff.items() if v}


@pytest.mark.parametrize("loss_name", LOSSES)
def test_at_most_one_sync_per_iteration(loss_name: str) -> None:
    """nan_check_every 1: exactly the guard's one read-back per iteration (before the fix: 1 for
    WGAN-GP and SN-GAN, 84 for MMD-GP, 49 for SMMD and SN-SMMD, from dv's input checks and
    small-distance recomputation); nan_check_every 2: one every other iteration."""
    n, where = _syncs_per_iteration(loss_name, 1)
    assert n == 1, where
    n, where = _syncs_per_iteration(loss_name, 2)
    assert n == 0.5, where


class _CopyCounter(TorchDispatchMode):
    """Blocking host-to-device copies (``non_blocking=False``), i.e. stream synchronisations."""

    def __init__(self) -> None:
        super().__init__()
        self.blocking = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func.overloadpacket.__name__ == "_to_copy" and args[0].device.type == "cpu":
            dev = kwargs.get("device")
            if dev is not None and torch.device(dev).type != "cpu" and not kwargs.get("non_blocking", False):
                self.blocking += 1
        return func(*args, **kwargs)


def test_no_blocking_copies_per_batch() -> None:
    """In-memory data on a non-CPU device ('meta' stands in for CUDA): real batches and the GP
    interpolation weights reach the device without a blocking copy."""

    class Data(torch.utils.data.Dataset):
        tensor = torch.zeros(20, 3, 4, 4, dtype=torch.uint8)

        def __len__(self) -> int:
            return 20

        def __getitem__(self, i: int) -> torch.Tensor:
            return self.tensor[i]

    stream = BatchStream(Data(), 4, 0, torch.device("meta"))
    with _CopyCounter() as c:
        for _ in range(7):  # crosses an epoch boundary
            batch = stream()
        u = pen.uniform_like(batch, (4, 1, 1, 1), torch.Generator().manual_seed(0))
    assert batch.device.type == "meta" and u.device.type == "meta"
    assert c.blocking == 0


def test_deferred_nan_guard_names_the_first_bad_step(tmp_path: Path) -> None:
    """nan_check_every 5: the guard reads its device-side flags at step 5 and reports step 3, where
    the loss first went non-finite; no checkpoint is written after it."""
    from gans.losses import NonSaturatingLoss

    class NaNFrom3(NonSaturatingLoss):
        calls = 0

        def generator_objective(self, D, real, fake):
            NaNFrom3.calls += 1
            v, logs = super().generator_objective(D, real, fake)
            return (v * float("nan") if NaNFrom3.calls >= 3 else v), logs

    loss = NaNFrom3()
    loss.name = "nsgan"
    cfg = {"data": {"name": "ring"}, "train": {"iterations": 10, "batch_size": 16, "nan_check_every": 5,
                                                "log_every": 100, "checkpoint_every": 0, "sample_every": 0,
                                                "progress": False}, "eval": {"every": 0}}
    from gans.train import TrainingDiverged
    with pytest.raises(TrainingDiverged, match=r"non-finite loss value\(s\) \['g_loss'\] at step 3:"):
        train(cfg, tmp_path / "run", loss=loss)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


# --------------------------------------------------------------------------------------------
# EMA, imports
# --------------------------------------------------------------------------------------------
def test_foreach_ema_equals_the_formula() -> None:
    """``ema <- beta ema + (1 - beta) param`` for every floating parameter, buffers copied."""
    from gans.ema import EMA, ema_beta
    G, _, _ = _setup("sngan", "resnet", 32)
    ema = EMA(G, halflife_images=100.0)
    old = [p.detach().clone() for p in ema.model.parameters()]
    with torch.no_grad():
        for p in G.parameters():
            p.add_(1.0)
        for b in G.buffers():
            if b.is_floating_point():
                b.add_(2.0)
    ema.update(G, images=50)
    beta = ema_beta(50, 100.0)
    for o, pe, p in zip(old, ema.model.parameters(), G.parameters()):
        want = beta * o.double() + (1 - beta) * p.detach().double()
        # lerp in float32: two roundings of terms of size max(|o|, |p|)
        tol = 4 * U_FP32 * torch.maximum(o.abs(), p.detach().abs()).double()
        assert bool(((pe.double() - want).abs() <= tol).all())
    for be, b in zip(ema.model.buffers(), G.buffers()):
        assert torch.equal(be, b)


def test_import_gans_train_does_not_import_pot() -> None:
    """The GPU image has no POT; training never uses it."""
    code = "import gans.train, sys; assert 'ot' not in sys.modules, 'POT imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --------------------------------------------------------------------------------------------
# CUDA (run with -m gpu on a GPU machine; fail, not skip, elsewhere)
# --------------------------------------------------------------------------------------------
# The device of the -m gpu tests: CUDA, unless GANDIV_GPU_TEST_DEVICE=cpu (the CPU smoke run of
# experiments/gpu/run_all.sh, which runs the same tests end to end on a CPU).
GPU_DEV = os.environ.get("GANDIV_GPU_TEST_DEVICE", "cuda")


def _require_cuda() -> None:
    if GPU_DEV not in ("cuda", "cpu"):
        pytest.fail(f"GANDIV_GPU_TEST_DEVICE must be cuda or cpu, got {GPU_DEV!r}")
    if GPU_DEV == "cuda" and not torch.cuda.is_available():
        pytest.fail("-m gpu tests need CUDA; torch.cuda.is_available() is False")


@pytest.mark.gpu
@pytest.mark.parametrize("kernel", ["gaussian", "mix_rq_1dot"])
def test_cuda_head_and_estimators(kernel: str) -> None:
    """On CUDA tensors: dv.mmd2 and the head agree in float64; under CUDA bf16 autocast the head
    on bf16 features is float32 and within the float32 bound of the float64 value."""
    _require_cuda()
    gen = torch.Generator().manual_seed(0)
    k = dv.kernels.get(kernel)
    fx = torch.randn(64, 16, generator=gen, dtype=torch.float64).to(GPU_DEV)
    fy = (torch.randn(64, 16, generator=gen, dtype=torch.float64) + 0.1).to(GPU_DEV)
    S = _gram_scale(k, fx, fy)
    assert abs(float(feature_mmd2(fx, fy, k)) - float(dv.mmd2(fx, fy, k))) <= 64 * 18 * 2.0 ** -53 * S
    fb, gb = fx.bfloat16(), fy.bfloat16()
    R = float(torch.cdist(torch.cat([fb, gb]).double(), torch.cat([fb, gb]).double()).max() ** 2 / 2)
    with torch.autocast(GPU_DEV, dtype=torch.bfloat16):
        got = feature_mmd2(fb, gb, k)
    assert got.dtype == torch.float32
    assert abs(float(got) - float(dv.mmd2(fb.double(), gb.double(), k))) <= 4 * 19 * U_FP32 * (1 + R) * S * 4


@pytest.mark.gpu
def test_cuda_exact_1d_wasserstein_equals_cpu() -> None:
    """On CUDA the 1-D core sorts with torch.sort (numpy orders CPU tensors only): on small-integer
    positions with dyadic weights every step is exact (tests/test_w1d_coupling.py), so the CUDA
    value must equal the CPU one; weighted with unequal sizes, uniform with unequal sizes, and sliced
    W of 1-D samples (every direction is +-1, so the projections are exact too)."""
    _require_cuda()
    g = torch.Generator().manual_seed(4)
    x = torch.randint(-20, 21, (300,), generator=g).double()
    y = torch.randint(-15, 30, (512,), generator=g).double()
    counts = torch.randint(1, 9, (300,), generator=g).double()
    counts[-1] += 4096 - counts.sum()  # counts sum to 2^12: dyadic weights, exact cumulative sums
    a = counts / 4096
    for p in (1, 2):
        cpu = dv.wasserstein_1d_pow(x, y, p, a, None)
        assert float(dv.wasserstein_1d_pow(x.to(GPU_DEV), y.to(GPU_DEV), p, a.to(GPU_DEV), None)) == float(cpu)
        cpu_u = dv.wasserstein_1d_pow(x[:256], y, p)
        assert float(dv.wasserstein_1d_pow(x[:256].to(GPU_DEV), y.to(GPU_DEV), p)) == float(cpu_u)
    sw_cpu = dv.sliced_wasserstein(x[:, None], y[:, None], p=2, n_projections=8, x_weights=a)
    sw_dev = dv.sliced_wasserstein(x[:, None].to(GPU_DEV), y[:, None].to(GPU_DEV), p=2, n_projections=8,
                                   x_weights=a.to(GPU_DEV))
    assert float(sw_dev) == float(sw_cpu)


class _HostCopies(TorchDispatchMode):
    """Device-to-host copies of more than one element: ``_to_copy`` or ``copy_`` from a non-CPU
    tensor into a CPU one.  Scalar read-backs (``.item()``, ``float(t)``: the convergence checks)
    are ``_local_scalar_dense`` and not counted."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: list[tuple[int, ...]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        if name == "_to_copy":
            src, dst = args[0], torch.device(kwargs.get("device") or args[0].device)
        elif name == "copy_":
            src, dst = args[1], args[0].device
        else:
            src = dst = None
        if isinstance(src, torch.Tensor) and src.device.type != "cpu" and dst.type == "cpu" and src.numel() > 1:
            self.shapes.append(tuple(src.shape))
        return func(*args, **kwargs)


def test_host_copy_counter_sees_device_to_host_copies() -> None:
    """The counter of the CUDA test below, checked on the CPU with 'meta' standing in for CUDA: a
    ``.cpu()``, a ``.to("cpu")`` and a ``copy_`` into a CPU tensor are seen (the copies themselves
    fail: a meta tensor has no data), a scalar and device-side work are not."""
    m = torch.ones(3, 4, device="meta")
    no_data = (NotImplementedError, RuntimeError)  # what copying a meta tensor out raises (torch 2.13: the first)
    with _HostCopies() as c:
        for copy in (lambda: m.cpu(), lambda: m.to("cpu"), lambda: torch.empty(3, 4).copy_(m)):
            with pytest.raises(no_data):
                copy()
        _ = (m * 2).sum()
        with pytest.raises(no_data):
            torch.ones((), device="meta").cpu()
    assert c.shapes == [(3, 4)] * 3


@pytest.mark.gpu
def test_cuda_sinkhorn_and_exact_ot_stay_on_the_device() -> None:
    """Issue 14: Sinkhorn runs on the input's device with no host copy of any array (only scalar
    convergence read-backs); exact OT copies exactly what POT's CPU network simplex needs -- the two
    weight vectors and the n x m cost -- and returns its value and gradient on the device.

    Values against the CPU: the cost centres the pooled sample first; with integer coordinates and
    n + m = 128 points the centre is an integer over 128 (exact in any summation order), so every
    centred coordinate, difference and squared distance is exact on both devices, and IEEE sqrt is
    correctly rounded: the costs are equal bit for bit and the simplex (the same
    CPU code on the same input) returns the same plan; the value is a dot product of n m terms in
    another order: within gamma_{nm} sum_ij C_ij P_ij <= n m u W.  Sinkhorn: each device stops at a
    marginal error <= tol = 1e-9, so each value is within max C sqrt(2n) tol (+ n^2 u max C of
    rounding) of the exact OT_eps (tests/test_sinkhorn_solver.py); the divergence combines three
    problems with weights 1, 1/2, 1/2 and the two devices differ by at most twice that each: 4 B."""
    _require_cuda()
    g = torch.Generator().manual_seed(7)
    n = 64  # n + m = 128: the centring is exact (docstring)
    x = torch.randint(-6, 7, (n, 2), generator=g).double()
    y = torch.randint(-4, 9, (n, 2), generator=g).double()
    xd, yd = x.to(GPU_DEV, copy=True).requires_grad_(True), y.to(GPU_DEV)
    u = 2.0 ** -53

    with _HostCopies() as copies:
        s_dev = dv.sinkhorn(xd, yd, reg=0.5)
        s_dev.backward()
    assert copies.shapes == [], copies.shapes
    assert s_dev.device.type == xd.grad.device.type == torch.device(GPU_DEV).type
    s_cpu = dv.sinkhorn(x, y, reg=0.5)
    cmax = float(torch.cdist(torch.cat([x, y]), torch.cat([x, y])).max() ** 2)
    b = cmax * (2 * n) ** 0.5 * 1e-9 + n * n * u * cmax
    assert abs(float(s_dev.detach()) - float(s_cpu)) <= 4 * b

    xd.grad = None
    with _HostCopies() as copies:
        w_dev = dv.wasserstein(xd, yd, p=1)
        w_dev.backward()
    if GPU_DEV != "cpu":
        assert sorted(copies.shapes) == [(n,), (n,), (n, n)], copies.shapes
    assert w_dev.device.type == xd.grad.device.type == torch.device(GPU_DEV).type
    w_cpu = float(dv.wasserstein(x, y, p=1))
    assert abs(float(w_dev.detach()) - w_cpu) <= n * n * u * w_cpu


@pytest.mark.gpu
def test_cuda_spectral_sigma_is_float32_under_autocast() -> None:
    """sigma under CUDA bf16 autocast equals the fp32 sigma to float32 rounding (an ``mv`` in bf16
    would be off by ~2^-8)."""
    _require_cuda()
    from gans.nets.spectral import spectral_norm
    lin = spectral_norm(torch.nn.Linear(64, 32)).to(GPU_DEV).eval()
    w32 = lin.weight.detach().clone()
    with torch.autocast(GPU_DEV, dtype=torch.bfloat16):
        wb = lin.weight.detach()
    assert wb.dtype == torch.float32
    assert float((wb - w32).abs().max()) <= 64 * 64 * U_FP32 * float(w32.abs().max())


@pytest.mark.gpu
@pytest.mark.parametrize("arch,res,loss_name", FAST_CASES)
def test_cuda_step(arch: str, res: int, loss_name: str) -> None:
    _require_cuda()
    _one_step(arch, res, loss_name, compile=False, device=GPU_DEV)


@pytest.mark.gpu
@pytest.mark.parametrize("loss_name", LOSSES)
def test_cuda_train_two_iterations_compiled(loss_name: str, tmp_path: Path) -> None:
    """A training run per comparison config on CUDA (bf16, channels_last, compile, 2 iterations)
    finishes with a finite checkpoint."""
    _require_cuda()
    _require_cxx()
    cfg = resolve(_quick(loss_name),
                  [f"device={GPU_DEV}", "train.amp=bf16", "train.compile=true", "train.iterations=2", "eval.every=0",
                   "train.batch_size=8", "train.checkpoint_every=0"])
    train(cfg, tmp_path / "run")
    assert (tmp_path / "run" / "checkpoint.pt").exists()
