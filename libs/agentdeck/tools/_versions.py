"""Which tool versions a registered contract can serve.

The policy-checker denies a call its registered tool cannot serve and the
executor refuses to run one; both ask this module, so a call the policy lets
through is never one the executor turns away for its version.
"""

from __future__ import annotations

__all__ = ["version_compatible"]


def _major_minor(version: str) -> tuple[int, int] | None:
    head = version.strip().split(".")
    try:
        return int(head[0]), int(head[1]) if len(head) > 1 else 0
    except ValueError:
        return None


def version_compatible(wanted: str | None, registered: str) -> bool:
    """Whether the ``registered`` contract version can serve a call for ``wanted``.

    Same major version, and the registered minor at least the wanted one.
    ``None`` (the call takes whatever is registered) is always served; versions
    that are not ``MAJOR[.MINOR[...]]`` numbers must match exactly.

    Args:
        wanted: The version a request or a decision names, or None.
        registered: The version of the contract that would run the call.
    """
    if wanted is None or wanted == registered:
        return True
    want, have = _major_minor(wanted), _major_minor(registered)
    return want is not None and have is not None and want[0] == have[0] and have[1] >= want[1]
