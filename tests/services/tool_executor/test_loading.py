"""How an executor finds its tools, and what it refuses to start without."""

import sys
import types

import pytest

from agentdeck.contracts import default_codec
from agentdeck.demo.tools import TOOL_NAMES
from agentdeck.errors import ConfigError
from agentdeck.tool_executor.main import build, configured_registry
from agentdeck.tool_executor.settings import ToolExecutorSettings
from agentdeck.tools import ToolRegistry, load_registries, load_registry


@pytest.fixture
def department(monkeypatch):  # type: ignore[no-untyped-def]
    """A department's tool module exposing a ready `registry`."""
    module = types.ModuleType("finance_tools")
    module.registry = ToolRegistry()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "finance_tools", module)
    return module


def test_a_module_exposing_a_registry_is_loaded_as_is(department):
    assert load_registry("finance_tools") is department.registry


def test_a_tools_function_gets_the_dependencies_it_names(store):
    registry = load_registry("agentdeck.demo.tools", store=store, unrelated=object())
    assert registry.names() == sorted(TOOL_NAMES)


def test_a_module_without_tools_or_that_does_not_exist_is_a_config_error():
    with pytest.raises(ConfigError, match="neither"):
        load_registry("agentdeck.hashing")
    with pytest.raises(ConfigError, match="cannot import"):
        load_registry("no_such_department.tools")


def test_the_same_tool_from_two_packages_is_a_config_error(store):
    with pytest.raises(ConfigError, match="twice"):
        load_registries(["agentdeck.demo.tools", "agentdeck.demo.tools"], store=store)


def test_an_executor_without_configured_packages_runs_the_demo_catalog_on_the_store(store):
    registry = configured_registry(ToolExecutorSettings(), store)
    assert registry.names() == sorted(TOOL_NAMES)


def test_an_executor_without_the_policy_checkers_key_refuses_to_start(store, hot):
    with pytest.raises(ConfigError, match="POLICY_VERIFY_KEY"):
        build(ToolExecutorSettings(), codec=default_codec(), store=store, hot=hot)
