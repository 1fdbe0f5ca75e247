"""Settings: defaults < YAML file < environment (GYARU_*) < command-line flags.

Every section forbids unknown keys and every value is validated, so a typo in the
YAML file is an error that names the key instead of a setting silently ignored.
The API key is not a setting: it comes only from `VLLM_API_KEY` (see
`api_key_from_env`), so it can never end up in a config file or a config snapshot.
"""

from client.config.defaults import (
    API_KEY_ENV,
    DEFAULT_CONFIG_PATH,
    DEFAULT_SCENES,
    DEFAULT_STYLE_MARKERS,
    DEFAULT_TOPICS,
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
)
from client.config.judge import DEFAULT_JUDGE_PROMPT, JudgeConfig
from client.config.loading import api_key_from_env, load_settings, read_yaml
from client.config.sections import (
    ExportConfig,
    GenerationConfig,
    InputConfig,
    OutputConfig,
    PersonaConfig,
    PromptConfig,
    RetryConfig,
    ServerConfig,
    Settings,
    ValidationConfig,
)

__all__ = [
    "API_KEY_ENV",
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_JUDGE_PROMPT",
    "DEFAULT_SCENES",
    "DEFAULT_STYLE_MARKERS",
    "DEFAULT_TOPICS",
    "ENV_NESTED_DELIMITER",
    "ENV_PREFIX",
    "ExportConfig",
    "GenerationConfig",
    "InputConfig",
    "JudgeConfig",
    "OutputConfig",
    "PersonaConfig",
    "PromptConfig",
    "RetryConfig",
    "ServerConfig",
    "Settings",
    "ValidationConfig",
    "api_key_from_env",
    "load_settings",
    "read_yaml",
]
