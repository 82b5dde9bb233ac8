"""The tool-executor service."""
