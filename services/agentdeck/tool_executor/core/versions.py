"""Whether a decided tool version may run on the registered one."""

from __future__ import annotations

__all__ = ["compatible"]


def _parts(version: str) -> tuple[int, int] | None:
    head = version.strip().split(".")
    try:
        major = int(head[0])
        minor = int(head[1]) if len(head) > 1 else 0
    except ValueError:
        return None
    return major, minor


def compatible(decided: str | None, registered: str) -> bool:
    """Same major version, and the registered minor at least the decided one.

    ``None`` (the request took whatever was registered) is always compatible;
    versions that are not ``MAJOR[.MINOR[...]]`` numbers must match exactly.
    """
    if decided is None or decided == registered:
        return True
    want, have = _parts(decided), _parts(registered)
    if want is None or have is None:
        return False
    return want[0] == have[0] and have[1] >= want[1]
