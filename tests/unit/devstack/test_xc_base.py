"""Settings of the fake tenant (``devstack.xc.models.base``): ``configure`` checks keys and types."""

from __future__ import annotations

import pytest

from devstack.xc.errors import InvalidArgumentError
from devstack.xc.models import XCState

# --------------------------------------------------------------------------- config and dump


def test_configure_unknown_key_raises_400(xc_state: XCState) -> None:
    # GIVEN a typo in a config key
    # WHEN it is set
    # THEN it is refused and names the key
    with pytest.raises(InvalidArgumentError) as info:
        xc_state.configure(validate_ref=True)
    assert info.value.field == "validate_ref"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cascade_delete_delay_ms", "10"),
        ("cascade_delete_delay_ms", True),
        ("validate_refs", 1),
        ("object_visibility_delay_ms_by_plural", {"origin_pools": "1"}),
    ],
)
def test_configure_wrong_type_raises_400(xc_state: XCState, key: str, value: object) -> None:
    # GIVEN a value of the wrong type
    # WHEN it is set
    # THEN it is refused and the config is unchanged
    before = xc_state.config
    with pytest.raises(InvalidArgumentError):
        xc_state.configure(**{key: value})
    assert xc_state.config == before
