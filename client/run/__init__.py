"""Async orchestration: a Job built from settings, the runner, generate, bench and check."""
