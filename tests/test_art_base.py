"""BlockART's parameter machinery, shared by every compiled module."""

from __future__ import annotations

import pytest

from generator.art import BlockFuzzyART, CosineART


@pytest.mark.parametrize("module", [CosineART, BlockFuzzyART])
def test_listed_defaults_are_the_constructors_defaults(module):
    specs = {p.name: p.default for p in module.param_specs()}
    assert module().get_params() == specs  # what `saetax modules` lists is what you get
    assert specs["block_size"] == module.BLOCK_SIZE
    assert CosineART.BLOCK_SIZE == 256 and BlockFuzzyART.BLOCK_SIZE == 64
