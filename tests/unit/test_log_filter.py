"""CloudWatch Logs filter patterns."""

import pytest

from aerodrome.domain.log_filter import PatternError, compile_pattern

LINES = ['[2026-12-02T10:00:00] ERROR Task failed: Out of memory', '[2026-12-02T10:00:01] WARN Retrying',
         '[2026-12-02T10:00:02] INFO all good', '{"level": "ERROR", "ms": 750, "user": "alice", "ok": false}',
         '{"level": "INFO", "ms": 20, "user": "bob", "error": null, "tags": ["a", "b"]}']


def matching(pattern):
    matches = compile_pattern(pattern)
    return [i for i, line in enumerate(LINES) if matches(line)]


@pytest.mark.parametrize("pattern, expected", [
    ("", [0, 1, 2, 3, 4]),
    ("ERROR", [0, 3]),
    ("ERROR memory", [0]),
    ('"Out of memory"', [0]),
    ("?WARN ?INFO", [1, 2, 4]),
    ("ERROR -memory", [3]),
    ('{ $.level = "ERROR" }', [3]),
    ('{ $.ms > 500 }', [3]),
    ('{ $.ms <= 20 && $.user = "b*" }', [4]),
    ('{ ($.user = "alice" || $.user = "bob") && $.ms != 20 }', [3]),
    ('{ $.error IS NULL }', [4]),
    ('{ $.error NOT EXISTS }', [3]),
    ('{ $.ok IS FALSE }', [3]),
    ('{ $.tags[1] = "b" }', [4]),
])
def test_patterns(pattern, expected):
    assert matching(pattern) == expected


@pytest.mark.parametrize("pattern, words", [
    ('{ $.level = "ERROR"', "must end"), ('{ $.ms > "a" }', "compares numbers"), ("{ level = 1 }", "selector"),
    ('{ $.a = 1 && }', "ends too early"), ("[ip, user]", "Space-delimited"), ('{ $.a ~ 1 }', "cannot be read"),
])
def test_bad_patterns_say_what(pattern, words):
    with pytest.raises(PatternError, match=words):
        compile_pattern(pattern)
