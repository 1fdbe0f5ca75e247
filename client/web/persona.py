"""What the review page needs from the persona: its name for the column heading, its
first person, markers and slang for the word diff, the judge's minimum grades for the
"disagreements first" view. All of it comes from the Settings the dataset was made
with; `persona_of` (and pairs.worddiff.voice_words, for the word lists) is where
those fields are read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from client.config import Settings, load_settings
from client.pairs.judge import Thresholds
from client.pairs.worddiff import VoiceWords, voice_words
from client.storage.dataset import Dataset


@dataclass(frozen=True)
class ReviewPersona:
    """The persona as the review page uses it."""

    name: str
    first_person: str | None
    markers: tuple[str, ...]  # style markers, for the charts
    voice: VoiceWords = field(default_factory=VoiceWords)
    thresholds: Thresholds = field(default_factory=Thresholds)

    def thresholds_json(self) -> dict[str, Any]:
        t = self.thresholds
        return {
            "meaning": t.min_meaning,
            "voice": t.min_voice,
            "naturalness": t.min_naturalness,
            "safety": t.min_safety,
            "topic_ok": t.require_topic,
        }


def persona_of(settings: Settings) -> ReviewPersona:
    persona = settings.persona
    return ReviewPersona(
        name=persona.name,
        first_person=persona.first_person,
        markers=tuple(persona.style_markers),
        voice=voice_words(settings),
        thresholds=Thresholds.from_config(settings.judge),
    )


def settings_of(dataset: Dataset) -> Settings:
    """The settings the dataset was made with (its metadata keeps a snapshot); the
    base config and default persona when it has none this version can read."""
    snapshot = dataset.metadata.get("config")
    if isinstance(snapshot, dict):
        try:
            return Settings.model_validate(snapshot)
        except ValidationError:
            pass
    return load_settings()
