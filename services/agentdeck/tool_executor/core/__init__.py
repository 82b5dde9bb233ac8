"""The executor's decisions, pure: verification, parking, retries, screening.

Nothing here does I/O or reads a clock; time, keys and ledger answers are
passed in, so every decision can be replayed.
"""
