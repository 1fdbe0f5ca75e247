"""Settings: defaults < base config < persona folder < --config file < environment
(GYARU_*) < command-line flags (the layering is spelled out in loading.py).

Every section forbids unknown keys and every value is validated, so a typo in a YAML
file is an error that names the file and the key instead of a setting silently
ignored. A persona is a folder (personas.py): its persona.yaml holds what differs from
the base config, beside its prompts. The API key is not a setting: it comes only from
`VLLM_API_KEY` (see `api_key_from_env`), so it can never end up in a config file or a
config snapshot.
"""

from client.config.defaults import (
    API_KEY_ENV,
    DEFAULT_CONFIG_PATH,
    DEFAULT_PERSONA,
    ENV_NESTED_DELIMITER,
    ENV_PREFIX,
    PERSONAS_DIR,
)
from client.config.judge import DEFAULT_JUDGE_PROMPT, JudgeConfig
from client.config.layers import read_yaml
from client.config.loading import (
    Sources,
    api_key_from_env,
    build_settings,
    load_settings,
    persona_choice,
    resolve,
)
from client.config.personas import Persona
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
    "DEFAULT_PERSONA",
    "ENV_NESTED_DELIMITER",
    "ENV_PREFIX",
    "PERSONAS_DIR",
    "ExportConfig",
    "GenerationConfig",
    "InputConfig",
    "JudgeConfig",
    "OutputConfig",
    "Persona",
    "PersonaConfig",
    "PromptConfig",
    "RetryConfig",
    "ServerConfig",
    "Settings",
    "Sources",
    "ValidationConfig",
    "api_key_from_env",
    "build_settings",
    "load_settings",
    "persona_choice",
    "read_yaml",
    "resolve",
]
