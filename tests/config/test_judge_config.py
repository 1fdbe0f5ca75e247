"""The judge's settings: defaults, and bad values named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from client.config import DEFAULT_JUDGE_PROMPT, JudgeConfig


def test_on_by_default_with_the_generating_server_and_model() -> None:
    config = JudgeConfig()
    assert config.enabled
    assert config.base_url is None and config.model is None
    assert config.prompt_path == DEFAULT_JUDGE_PROMPT
    assert (config.min_meaning, config.min_voice, config.min_naturalness, config.min_safety) == (
        4,
        3,
        3,
        4,
    )


def test_another_server_is_normalised() -> None:
    assert JudgeConfig(base_url="http://judge:8000/v1/").base_url == "http://judge:8000/v1"


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"base_url": "judge:8000"}, "must start with http:// or https://"),
        ({"model": " "}, "judge model must not be empty"),
        ({"min_meaning": 6}, "less than or equal to 5"),
        ({"min_safety": 0}, "greater than or equal to 1"),
        ({"threshold": 3}, "Extra inputs are not permitted"),
    ],
)
def test_bad_values_are_refused(values: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        JudgeConfig.model_validate(values)
