import pytest

from agentdeck.tools import version_compatible


@pytest.mark.parametrize(
    ("wanted", "registered", "ok"),
    [
        (None, "1.0", True),
        ("1.0", "1.0", True),
        ("1.0", "1.3", True),
        ("1.4", "1.3", False),
        ("2.0", "1.9", False),
        ("1", "1.0", True),
        ("1.2.7", "1.2", True),
        ("beta", "beta", True),
        ("beta", "1.0", False),
        ("1.0", "beta", False),
    ],
)
def test_a_wanted_version_is_served_by_the_same_major_with_at_least_its_minor(
    wanted, registered, ok
):
    assert version_compatible(wanted, registered) is ok
