"""requirements.txt rules: MWAA's constraint detection, overlay keys, no credentials in messages."""

from aerodrome.runtimes.local import overlays


def test_requirements_rules():
    assert overlays.has_constraint("pyjokes\n# -c https://example.org/constraints.txt\n")  # MWAA: even commented
    assert overlays.has_constraint("--constraint=c.txt\n")
    assert not overlays.has_constraint("pyjokes\n--find-links /usr/local/airflow/plugins\n")
    assert overlays.requirement_lines("# only a comment\n\n") == []
    same = overlays.overlay_key("3.3.2", "pyjokes\n", "p1")
    assert same == overlays.overlay_key("3.3.2", "pyjokes\n", "p2")  # plugins matter only when referenced
    assert same != overlays.overlay_key("2.11.2", "pyjokes\n", "p1")
    linked = "--find-links /usr/local/airflow/plugins\nx\n"
    assert overlays.overlay_key("3.3.2", linked, "p1") != overlays.overlay_key("3.3.2", linked, "p2")
    assert overlays._CREDENTIALS.sub(r"\1***@", "https://me:t0ken@pypi.example/simple") == "https://***@pypi.example/simple"
