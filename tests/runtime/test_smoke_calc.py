"""The SPEC section 2 calls over a real socket."""

from __future__ import annotations

import pytest

from .stubs import SrpcCalcClientStub


def test_calc_add_sub_mult_div(calc: SrpcCalcClientStub) -> None:
    assert calc.add(4, 2) == 6
    assert calc.mult(4, 2) == 8
    assert calc.sub(4, 2) == 2
    result = calc.div(4, 2)
    assert result == 2.0
    assert type(result) is float


def test_calc_div_by_zero_raises_zero_division_error(calc: SrpcCalcClientStub) -> None:
    with pytest.raises(ZeroDivisionError) as info:
        calc.div(1, 0)
    assert info.value.args == ("division by zero",)
    assert calc.add(1, 1) == 2
