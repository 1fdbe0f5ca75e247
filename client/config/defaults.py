"""Named defaults of the settings: where the base config and the persona folders are,
how the environment names settings, and the file names a persona folder holds.

No persona's data lives here: a persona (its name, first person, topics, register
rules, prompts) is a folder under personas/ (see client/config/personas.py).
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_CONFIG_PATH = Path("config/generation_config.yaml")
ENV_PREFIX = "GYARU_"
ENV_NESTED_DELIMITER = "__"
API_KEY_ENV = "VLLM_API_KEY"

# GYARU_PERSONA picks a persona the way --persona does; GYARU_PERSONAS_DIRS (a JSON
# list) names more folders to look for personas in.
PERSONA_ENV = ENV_PREFIX + "PERSONA"
PERSONAS_DIRS_ENV = ENV_PREFIX + "PERSONAS_DIRS"

# The personas folder of the working directory (the project folder, like config/).
PERSONAS_DIR = Path("personas")
# The persona a run uses when neither a flag, the environment nor a config file picks
# one (the shipped base config names it too: `persona: gyaru`).
DEFAULT_PERSONA = "gyaru"

# What a persona folder holds.
PERSONA_FILE = "persona.yaml"
SYSTEM_PROMPT_FILE = "system_prompt.txt"
REWRITE_PROMPT_FILE = "rewrite_prompt.txt"
JUDGE_PROMPT_FILE = "judge_prompt.txt"
LABELS_FILE = "labels.jsonl"

# Where the default persona's prompts are when settings are built without the loader
# (a section constructed on its own, in tests); the loader always sets the paths from
# the persona folder it picked.
DEFAULT_PERSONA_DIR = PERSONAS_DIR / DEFAULT_PERSONA
