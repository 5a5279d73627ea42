"""``_validation.all_finite`` / ``check_finite``: one sum decides unless it is not finite (then the
elementwise pass does), so an overflowing sum of finite entries is accepted and any NaN or Inf is
caught, wherever it sits."""

import pytest
import torch

from divergences._validation import all_finite, check_finite


def test_finite_entries_whose_sum_overflows_are_accepted():
    t = torch.full((1000, 10), 3.0e38, dtype=torch.float32)  # sum = 3e42: inf in float32
    assert not bool(torch.isfinite(t.sum()))
    assert all_finite(t)
    check_finite(t, "x")
    h = torch.full((100,), 60000.0, dtype=torch.float16)
    assert all_finite(h)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("where", [0, 4_999, 9_999])
def test_a_single_bad_entry_is_caught_anywhere(bad, where):
    t = torch.randn(10_000, generator=torch.Generator().manual_seed(where), dtype=torch.float64)
    t[where] = bad
    assert not all_finite(t)
    with pytest.raises(ValueError, match=r"x: contains non-finite values \((1 NaN, 0 Inf|0 NaN, 1 Inf)\)"):
        check_finite(t.reshape(100, 100), "x")


def test_opposite_infinities_and_overflow_plus_nan_are_caught():
    t = torch.zeros(100, dtype=torch.float32)
    t[1], t[2] = float("inf"), float("-inf")  # the sum is NaN
    assert not all_finite(t)
    u = torch.full((100,), 3.0e38, dtype=torch.float32)
    u[50] = float("nan")
    assert not all_finite(u)
    c = torch.zeros(10, dtype=torch.complex64)
    c[3] = complex(0.0, float("inf"))
    assert not all_finite(c)


def test_integer_bool_and_empty_tensors_are_finite():
    assert all_finite(torch.arange(10)) and all_finite(torch.ones(3, dtype=torch.bool))
    assert all_finite(torch.empty(0))
