"""Helpers shared by the test suite (on sys.path through pytest's pythonpath setting)."""
