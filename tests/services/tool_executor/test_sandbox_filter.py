"""The seccomp program is well formed and names the system calls the kernel knows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentdeck.tool_executor.adapters import _seccomp

_RET, _JMP_CLASS = 0x06, 0x05
HEADERS = (
    Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    Path("/usr/include/asm/unistd_64.h"),
)


def test_every_jump_of_the_filter_lands_inside_it_and_it_ends_in_a_return():
    program = _seccomp.sandbox_program(4242, landlock_abi=1)
    assert len(program) < 4096  # the kernel's limit
    for index, (code, jt, jf, _k) in enumerate(program):
        if code & 0x07 == _JMP_CLASS:
            assert index + 1 + max(jt, jf) < len(program), index
    assert program[-1][0] == _RET


def test_the_filter_numbers_match_the_kernel_headers():
    header = next((h for h in HEADERS if h.exists()), None)
    if header is None:
        pytest.skip("no x86-64 kernel headers installed")
    known = dict(re.findall(r"#define __NR_(\w+) (\d+)", header.read_text()))
    for name, number in _seccomp._X86_64.items():
        if name in known:  # newer than these headers otherwise
            assert int(known[name]) == number, name


def test_truncate_by_path_is_killed_only_where_landlock_cannot_refuse_it():
    kills_truncate = (0x15, 0, 1, 76)  # jump-if-equal to truncate(2), then return KILL
    assert kills_truncate in _seccomp.sandbox_program(4242, landlock_abi=2)
    assert kills_truncate not in _seccomp.sandbox_program(4242, landlock_abi=3)
