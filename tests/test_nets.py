"""Networks: output shapes at every resolution, spectral normalisation against the SVD,
the SN-SMMD learnable scale, seeding, and the DCGAN design rules (C33)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gans.nets import build_discriminator, build_generator
from gans.nets.spectral import SpectralNormParam, spectral_norm, spectral_sigma

RESOLUTIONS = (32, 64, 128, 160)


@pytest.mark.parametrize("name", ["dcgan", "resnet"])
@pytest.mark.parametrize("resolution", RESOLUTIONS)
@pytest.mark.parametrize("out_dim", [1, 16])
def test_image_network_shapes(name: str, resolution: int, out_dim: int) -> None:
    G = build_generator({"name": name, "resolution": resolution, "latent_dim": 16, "ch": 4}, seed=0)
    D = build_discriminator({"name": name, "resolution": resolution, "ch": 4, "out_dim": out_dim}, seed=1)
    x = G(torch.randn(3, 16))
    assert x.shape == (3, 3, resolution, resolution)
    assert x.abs().max() <= 1.0  # tanh output
    assert D(x).shape == ((3,) if out_dim == 1 else (3, out_dim))


def test_mlp_shapes_and_grayscale_channels() -> None:
    G = build_generator({"name": "mlp", "latent_dim": 5, "data_dim": 2}, seed=0)
    D = build_discriminator({"name": "mlp", "data_dim": 2, "out_dim": 16}, seed=0)
    assert G(torch.randn(7, 5)).shape == (7, 2)
    assert D(torch.randn(7, 2)).shape == (7, 16)
    G1 = build_generator({"name": "dcgan", "resolution": 32, "latent_dim": 8, "ch": 4, "channels": 1}, seed=0)
    assert G1(torch.randn(2, 8)).shape == (2, 1, 32, 32)


@pytest.mark.parametrize("resolution", [48, 100, 8, 96 * 3])
def test_bad_resolution_raises(resolution: int) -> None:
    with pytest.raises(ValueError, match="resolution"):
        build_generator({"name": "resnet", "resolution": resolution, "latent_dim": 8})


def test_bad_registry_name_and_kwargs_raise() -> None:
    with pytest.raises(ValueError, match="generator.name"):
        build_generator({"name": "vgg"})
    with pytest.raises(ValueError, match="bad discriminator config"):
        build_discriminator({"name": "mlp", "widht": 3})
    with pytest.raises(ValueError, match="learnable_scale"):
        build_discriminator({"name": "mlp", "learnable_scale": True})


def test_c33_dcgan_design_rules() -> None:
    """Strided convolutions, no pooling, BN in G, LeakyReLU (and no BN by default) in D."""
    G = build_generator({"name": "dcgan", "resolution": 64, "latent_dim": 8, "ch": 4}, seed=0)
    D = build_discriminator({"name": "dcgan", "resolution": 64, "ch": 4}, seed=0)
    pools = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    assert not any(isinstance(m, pools) for m in list(G.modules()) + list(D.modules()))
    assert sum(isinstance(m, nn.BatchNorm2d) for m in G.modules()) == 4
    strided = [m for m in D.modules() if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
    assert len(strided) == 4  # 64 -> 4 by four stride-2 convolutions
    assert any(isinstance(m, nn.LeakyReLU) for m in D.modules())
    assert not any(isinstance(m, nn.ReLU) for m in D.modules())


def test_seeded_build_is_reproducible_and_leaves_global_rng_alone() -> None:
    state = torch.get_rng_state()
    a = build_discriminator({"name": "resnet", "resolution": 32, "ch": 4, "spectral": True}, seed=3)
    assert torch.equal(state, torch.get_rng_state())
    b = build_discriminator({"name": "resnet", "resolution": 32, "ch": 4, "spectral": True}, seed=3)
    c = build_discriminator({"name": "resnet", "resolution": 32, "ch": 4, "spectral": True}, seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


@pytest.mark.parametrize("shape", [(20, 30), (16, 3, 3, 3), (40, 7)])
def test_spectral_norm_matches_svd(shape: tuple[int, ...]) -> None:
    """After enough power iterations, u^T W v equals the top singular value of W reshaped to
    (out, -1), and the normalised weight has spectral norm 1.  The power iteration's relative
    error in sigma shrinks like (s2/s1)^(2k); with (s2/s1)^2 < 0.9 and k >= 500 iterations that
    is below 0.9^500 ~ 1e-23, far under the float64 tolerance 1e-9 used here."""
    gen = torch.Generator().manual_seed(0)
    layer = nn.Linear(shape[1], shape[0]) if len(shape) == 2 else nn.Conv2d(shape[1], shape[0], shape[2])
    layer = layer.double()
    with torch.no_grad():
        layer.weight.copy_(torch.randn(shape, generator=gen, dtype=torch.float64))
    spectral_norm(layer, n_power_iterations=500, generator=gen)
    layer.train()
    w_eff = layer.weight  # one forward of the parametrisation = 500 more iterations
    raw = layer.parametrizations.weight.original.detach().reshape(shape[0], -1)
    s = torch.linalg.svdvals(raw)
    assert (s[1] / s[0]) ** 2 < 0.9  # the convergence bound in the docstring applies
    assert torch.isclose(spectral_sigma(layer), s[0], rtol=1e-9)
    assert torch.isclose(torch.linalg.svdvals(w_eff.detach().reshape(shape[0], -1))[0],
                         torch.tensor(1.0, dtype=torch.float64), rtol=1e-9)


def test_spectral_norm_of_transposed_conv_uses_out_by_in_matrix() -> None:
    """ConvTranspose2d stores weights as (in, out, k, k); Miyato's matrix is (out, in*k*k).
    Same convergence argument as above (500 iterations, float64)."""
    gen = torch.Generator().manual_seed(1)
    layer = nn.ConvTranspose2d(6, 4, 3).double()
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen, dtype=torch.float64))
    spectral_norm(layer, n_power_iterations=500, generator=gen)
    layer.train()
    w_eff = layer.weight
    raw = layer.parametrizations.weight.original.detach()
    s = torch.linalg.svdvals(raw.transpose(0, 1).reshape(4, -1))
    assert (s[1] / s[0]) ** 2 < 0.9
    assert torch.isclose(spectral_sigma(layer), s[0], rtol=1e-9)
    top = torch.linalg.svdvals(w_eff.detach().transpose(0, 1).reshape(4, -1))[0]
    assert torch.isclose(top, torch.tensor(1.0, dtype=torch.float64), rtol=1e-9)


def test_spectral_norm_eval_mode_freezes_u_and_state_dict_holds_it() -> None:
    layer = spectral_norm(nn.Linear(6, 5))
    param = layer.parametrizations.weight[0]
    layer.eval()
    u0 = param.u.clone()
    layer(torch.randn(2, 6))
    assert torch.equal(u0, param.u)
    layer.train()
    layer(torch.randn(2, 6))
    assert "parametrizations.weight.0.u" in layer.state_dict()


def test_learnable_scale_starts_at_one_and_sets_the_spectral_norm() -> None:
    """SN-SMMD: W_eff = s W / sigma(W); s starts at 1 and receives gradients."""
    torch.manual_seed(0)
    layer = spectral_norm(nn.Linear(8, 6).double(), n_power_iterations=300, learnable_scale=True)
    param: SpectralNormParam = layer.parametrizations.weight[0]
    assert param.scale.item() == 1.0
    with torch.no_grad():
        param.scale.fill_(2.5)
    top = torch.linalg.svdvals(layer.weight.detach())[0]
    assert torch.isclose(top, torch.tensor(2.5, dtype=torch.float64), rtol=1e-9)
    layer(torch.randn(4, 8, dtype=torch.float64)).sum().backward()
    assert param.scale.grad is not None and param.scale.grad.abs() > 0
    D = build_discriminator({"name": "mlp", "data_dim": 2, "spectral": True, "learnable_scale": True})
    scales = [n for n, _ in D.named_parameters() if n.endswith("scale")]
    assert len(scales) == 4  # one per linear layer


def test_spectral_norm_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_power_iterations"):
        spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="not spectrally normalised"):
        spectral_sigma(nn.Linear(2, 2))


def test_lazy_spelling_builds_networks_outside_the_registry() -> None:
    # "package.module:Name" for a module the registry does not know (here the DiracGAN players);
    # the registry itself names no such module
    G = build_generator({"name": "gans.dirac.system:DiracGenerator", "theta": 0.5})
    D = build_discriminator({"name": "gans.dirac.system:DiracCritic", "psi": -2.0})
    x = G(torch.zeros(3, 1, dtype=torch.float64))
    assert torch.equal(x, torch.full((3, 1), 0.5, dtype=torch.float64))
    assert torch.equal(D(x), torch.full((3, 1), -1.0, dtype=torch.float64))
