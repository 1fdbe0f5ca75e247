"""Pure work on pairs: records, schema, extraction, validation, quality, dedup, prompts,
export formats, stats. No network, no disk (prompt files aside)."""
