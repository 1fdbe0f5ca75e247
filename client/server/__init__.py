"""The vLLM edge: API calls, the endpoint pool, readiness, the retry policy."""
