"""The rules of the Japanese-aware pair checks (`checks:` in the config).

Every rule is data: what counts as the wrong register, a cut-off ending, a negation,
an insult. The defaults here are about Japanese, not about a persona (grammar that
leaves a line cut off, negations, insults, opposites); a persona's own rules (the
register it must or must not speak in, its slang, its words for standard ones) have
empty defaults and come from its folder: personas/gyaru/persona.yaml for the
あーし系ギャル, personas/ojousama/persona.yaml for a persona whose register is the
opposite (polite ですわ speech). Words are matched against the analyzer's tokens
(surface, normalised or dictionary form), so 買いました, 買います and 買いません all
match the auxiliary ます; phrases are plain substrings. See docs/dataset.md for each
reason code.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from client.config import checks_defaults as japanese

CHECK_CODES = (
    "unsafe",
    "junk",
    "mostly_latin",
    "repetition",
    "truncation",
    "near_copy",
    "register",
    "meaning_drift",
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenPattern(_Section):
    """One token the analyzer produced. A bare string in YAML is `{form: ...}`.

    form: the token's surface, normalised form (まじ for マジ) or dictionary form;
    pos: a prefix of its part of speech path (助詞-格助詞, 名詞-普通名詞-一般);
    cform: a prefix of its conjugation form (連用形-促音便, 未然形);
    except_surfaces: surfaces that never match (でしょ is です, yet casual)."""

    form: str | None = None
    pos: str = ""
    cform: str = ""
    except_surfaces: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"form": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _not_empty(self) -> TokenPattern:
        if self.form is None and not self.pos and not self.cform:
            raise ValueError("a token pattern needs a form, a pos or a cform")
        return self


class RegisterRules(_Section):
    """All persona data (empty: no rule); the persona's persona.yaml fills them in."""

    # In the persona line: words of a register that is not the persona's (the gyaru
    # forbids polite です/ます, the お嬢様 forbids slang).
    persona_forbidden: tuple[TokenPattern, ...] = ()
    persona_forbidden_phrases: tuple[str, ...] = ()
    # At least one of these in the persona line (empty: no requirement).
    persona_required: tuple[TokenPattern, ...] = ()
    # In the standard line: the persona's slang (its first person always counts too).
    standard_forbidden: tuple[TokenPattern, ...] = ()
    standard_forbidden_phrases: tuple[str, ...] = ()


class TruncationRules(_Section):
    # A line whose last word (trailing 。！？〜 and the like set aside) matches one of
    # these stops mid-phrase: a case or topic particle, a prefix, a stem waiting for
    # its ending (買っ, 行か), a copula or adjective in its joining form (マジで, 暑く),
    # a conjunction (それで), a particle that bounds what follows (来るまで).
    endings: tuple[TokenPattern, ...] = (
        TokenPattern(pos="助詞-格助詞"),
        TokenPattern(pos="助詞-係助詞"),
        TokenPattern(pos="接頭辞"),
        TokenPattern(pos="連体詞"),
        TokenPattern(cform="連用形-促音便"),
        TokenPattern(cform="連用形-撥音便"),
        TokenPattern(pos="動詞", cform="未然形"),
        TokenPattern(pos="助動詞", cform="連用形"),
        TokenPattern(pos="形容詞", cform="連用形"),
        TokenPattern(pos="接続詞"),
        *(TokenPattern(form=f, pos="助詞-副助詞") for f in ("まで", "さえ", "すら", "こそ")),
    )
    # Words that end a line only as an exclamation: a pronoun or an adverb with no
    # exclamation mark after it (…、あいつ / あーしめっちゃ) was cut off.
    open_endings: tuple[TokenPattern, ...] = (TokenPattern(pos="代名詞"), TokenPattern(pos="副詞"))
    # A verb in its conjunctive form after one of its arguments (雑談とかもやり).
    conjunctive: tuple[TokenPattern, ...] = (TokenPattern(pos="動詞", cform="連用形-一般"),)
    # A last clause with no predicate is a bare noun phrase: cut off when it follows
    # 、 or holds one of these particles (あーしの肩と腰, 発売日まで毎日).
    argument_particles: tuple[TokenPattern, ...] = (
        TokenPattern(pos="助詞-格助詞", except_surfaces=("の",)),
        TokenPattern(form="まで", pos="助詞-副助詞"),
    )
    # Marks that close an exclamation in written Japanese, casual ones included: after
    # one, a pronoun, an adverb or a bare noun phrase is an exclamation (マジ〜, これ！),
    # not a line cut off.
    exclamation_chars: str = "！!？?〜～ーwWｗ♪☆★"
    # Characters that end a complete line and are skipped before the last word.
    closing_chars: str = "。．.！!？?〜～ー…‥・wWｗ♪☆★」』）) 　"
    # A line that ends in one of these (after spaces) was cut off.
    open_chars: str = "、，,「『（("
    # Endings that look cut off but are whole (〜かも for かもしれない).
    complete_endings: tuple[str, ...] = ("かも",)
    # Endings that are cut off whatever the analyzer reads (同じような).
    open_phrases: tuple[str, ...] = ("ような", "ための")


class RepetitionRules(_Section):
    # The same piece of at least min_unit_chars, back to back min_tandem times
    # (ありがとありがとありがと); short emphatic doubling (マジマジ) is the persona's.
    min_unit_chars: int = Field(default=3, ge=1)
    min_tandem: int = Field(default=3, ge=2)
    # Any stretch of this many characters that occurs twice (a repeated sentence).
    min_span_chars: int = Field(default=8, ge=2)


class NearCopyRules(_Section):
    # Tokens set aside before the lines are compared (besides the first person).
    ignore_pos: tuple[str, ...] = ("助詞", "助動詞", "補助記号", "空白")
    # How alike the two skeletons must be (difflib's ratio) to be a near copy: 1.0
    # only the same words; lower catches a word or two changed as well.
    ratio: float = Field(default=1.0, gt=0.0, le=1.0)
    # A persona line holding one of these (and the standard not) is a rewrite even
    # when its words are the standard's (んだけど, じゃん for the gyaru; お嬢様's voice is
    # mostly in endings such as ですわ): persona data, empty unless its persona.yaml
    # lists them.
    rewrite_markers: tuple[str, ...] = ()


class ScriptRules(_Section):
    # mostly_latin: a line with more Latin letters than this share of its visible
    # characters, or this many Latin words (Wi-Fi and 16GB are fine; sentences are not).
    max_latin_share: float = Field(default=0.5, ge=0.0, le=1.0)
    max_latin_words: int = Field(default=3, ge=1)
    # junk: placeholder text a model leaves in (regular expressions, case-insensitive).
    placeholders: tuple[str, ...] = japanese.PLACEHOLDERS
    # junk: fewer words than this once the first person and symbols are set aside.
    min_content_tokens: int = Field(default=1, ge=0)


class MeaningRules(_Section):
    numbers: bool = True  # the numbers in the two lines must be the same
    # Tokens that negate; one followed by a question mark is rhetorical (暑くない？).
    negations: tuple[TokenPattern, ...] = (
        TokenPattern(form="ない", pos="助動詞"),
        TokenPattern(form="ず", pos="助動詞"),
        TokenPattern(form="ぬ", pos="助動詞"),
        TokenPattern(form="無い", pos="形容詞-非自立可能"),
    )
    question_marks: tuple[str, ...] = ("?", "？", "か", "かな", "じゃね")
    # Negations inside these negate nothing: obligations (しなければならない = must do,
    # しなきゃ; a second negation after one, なりません, is not counted either) and
    # しかない (nothing but: 行くしかない = must go).
    not_negations: tuple[str, ...] = (
        "なければ", "なけりゃ", "なきゃ", "なくては", "なくちゃ", "ないと", "ねば", "しかない", "しかなかっ",
        "しかありません",
    )  # fmt: skip
    # Fixed expressions whose negative form negates nothing (思わず = on impulse,
    # やむを得ず = unavoidably): Japanese, not the persona's, so they are added to
    # not_negations rather than replaced by a persona's list.
    fixed_expressions: tuple[str, ...] = japanese.FIXED_EXPRESSIONS
    # Words of the standard line that must survive the rewrite (matched by surface,
    # normalised or dictionary form, clipped, or an equivalent below).
    content_pos: tuple[str, ...] = (
        "名詞-普通名詞",
        "名詞-固有名詞",
        "動詞-一般",
        "形容詞-一般",
        "形状詞-一般",
    )
    # How much a word carries, by the longest matching part of speech (a one-character
    # word counts half): nouns carry a line; verbs and verbal nouns are what the
    # persona swaps for its own (確認する -> 見る).
    weights: dict[str, float] = Field(default_factory=lambda: dict(japanese.WORD_WEIGHTS))
    # The drift score is the share of that weight gone from the persona line. Above
    # max_missing_share the pair is rejected; from note_missing_share up to it the
    # judge decides (and without a judge the pair is kept with a check_note).
    max_missing_share: float = Field(default=0.5, ge=0.0, le=1.0)
    note_missing_share: float = Field(default=0.34, ge=0.0, le=1.0)
    # A katakana word clipped (スマホ, バイト, ファミレス) or a kanji compound cut to
    # its words' first characters (同接) counts as the word.
    clipping: bool = True
    # Standard word -> the persona's words for it (スマートフォン -> スマホ, 一度 ->
    # 一発): persona data, empty unless the persona's persona.yaml lists them.
    equivalents: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # Pairs of opposites: one in the standard line and the other in its place in the
    # persona line is the meaning reversed (三連勝 -> 三連敗).
    opposites: tuple[tuple[str, str], ...] = japanese.OPPOSITES

    @model_validator(mode="after")
    def _note_below_reject(self) -> MeaningRules:
        if self.note_missing_share > self.max_missing_share:
            raise ValueError("note_missing_share must not be above max_missing_share")
        return self


class NearDuplicateRules(_Section):
    # A pair whose character n-grams (both lines) overlap a kept pair's by this
    # Jaccard similarity or more is rejected as `near_duplicate` (MinHash estimate).
    enabled: bool = True
    threshold: float = Field(default=0.8, gt=0.0, le=0.95)
    ngram: int = Field(default=3, ge=1, le=10)
    num_perm: int = Field(default=128, ge=64, le=512)


class ChecksConfig(_Section):
    enabled: bool = True
    # Reason codes to skip (e.g. for a random-weight test model that writes no real text).
    disabled: tuple[str, ...] = ()
    # The rules of the `register` reason code (a field named `register` would shadow
    # pydantic's BaseModel.register).
    voice: RegisterRules = RegisterRules()
    truncation: TruncationRules = TruncationRules()
    repetition: RepetitionRules = RepetitionRules()
    near_copy: NearCopyRules = NearCopyRules()
    script: ScriptRules = ScriptRules()
    meaning: MeaningRules = MeaningRules()
    near_duplicate: NearDuplicateRules = NearDuplicateRules()
    # Insults and slurs: a line holding one (as a word or a substring) is rejected.
    unsafe_words: tuple[str, ...] = japanese.UNSAFE_WORDS

    @model_validator(mode="after")
    def _known_codes(self) -> ChecksConfig:
        unknown = sorted(set(self.disabled) - set(CHECK_CODES))
        if unknown:
            raise ValueError(f"unknown check codes {unknown}; known: {list(CHECK_CODES)}")
        return self
