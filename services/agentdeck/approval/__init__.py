"""The approval service."""
