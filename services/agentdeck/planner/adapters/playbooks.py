"""Playbooks from a directory of ``<name>.v<version>.yaml`` files."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from agentdeck import demo
from agentdeck.errors import ConfigError, ErrorCategory, TerminalError
from agentdeck.planner.core import Playbook

__all__ = ["UnknownPlaybook", "YamlPlaybooks", "bundled_playbooks"]

_FILE = re.compile(r"^(?P<name>[a-z][a-z0-9-]*)\.v(?P<version>[0-9A-Za-z.]+)\.ya?ml$")


class UnknownPlaybook(TerminalError):
    """A goal names a playbook (or version) that is not deployed."""

    def __init__(self, name: str, version: str | None, known: list[str]) -> None:
        which = f"{name} v{version}" if version else name
        super().__init__(
            f"no playbook {which}",
            capability="planner.playbooks",
            code="unknown_playbook",
            category=ErrorCategory.VALIDATION,
            remediation=(f"deployed playbooks: {', '.join(known) or 'none'}",),
        )


def _version_key(version: str) -> tuple[int | str, ...]:
    return tuple(int(p) if p.isdigit() else p for p in version.split("."))


class YamlPlaybooks:
    """Every version of every playbook in ``directory``, loaded and validated at start."""

    def __init__(self, directory: Path) -> None:
        self._books: dict[str, dict[str, Playbook]] = {}
        for path in sorted(directory.glob("*.y*ml")):
            match = _FILE.match(path.name)
            if match is None:
                raise ConfigError(f"{path}: expected a name like refund-order.v1.yaml")
            book = self._load(path)
            if (book.name, book.version) != (match["name"], match["version"]):
                raise ConfigError(f"{path}: file name and content disagree on name or version")
            self._books.setdefault(book.name, {})[book.version] = book

    @staticmethod
    def _load(path: Path) -> Playbook:
        try:
            return Playbook.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, ValidationError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc

    def get(self, name: str, version: str | None) -> Playbook:
        """The playbook at ``version``, or its newest version."""
        versions = self._books.get(name, {})
        if version is None and versions:
            return versions[max(versions, key=_version_key)]
        if version in versions:
            return versions[version]
        raise UnknownPlaybook(name, version, sorted(self._books))

    def names(self) -> list[str]:
        """Every playbook name."""
        return sorted(self._books)


def bundled_playbooks() -> YamlPlaybooks:
    """The demo playbooks shipped with agentdeck."""
    return YamlPlaybooks(demo.PLAYBOOKS)
