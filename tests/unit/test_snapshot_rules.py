"""Snapshot ids, manifest keys, checksums, verification and retention (pure)."""

import pytest

from aerodrome import errors
from aerodrome.domain import snapshots as snaps


def test_ids_sort_by_time_and_are_checked():
    earlier, later = snaps.new_id(1_700_000_000), snaps.new_id(1_700_000_001)
    assert earlier < later and snaps.check_id(earlier) == earlier
    assert earlier.startswith("20231114T221320Z-")
    with pytest.raises(errors.Invalid, match="is not a snapshot id"):
        snaps.check_id("../x")


def test_manifest_keys_name_environment_and_id():
    key = "aerodrome-snapshots/dev/20260101T000000Z-abcdef/manifest.json"
    assert snaps.parse_manifest_key(key) == ("dev", "20260101T000000Z-abcdef")
    assert snaps.parse_manifest_key("aerodrome-snapshots/dev/20260101T000000Z-abcdef/metadata.dump") is None
    assert snaps.parse_manifest_key("dags/aerodrome-snapshots/dev/x/manifest.json") is None


def test_a_changed_file_is_named_with_both_checksums():
    entry = snaps.file_entry("metadata.dump", b"original")
    snaps.check_file("s1", entry, b"original")
    with pytest.raises(errors.Invalid, match="s1: file metadata.dump is corrupted.*Nothing was changed"):
        snaps.check_file("s1", entry, b"originaL")


def test_verification_says_what_differs():
    counts = {"dagRuns": 2, "connections": 1, "variables": 0, "pools": 1}
    assert snaps.verify(counts, dict(counts)) == (True, "verified: 2 dagRuns, 1 connections, 0 variables, 1 pools")
    ok, text = snaps.verify(counts, {**counts, "dagRuns": 1})
    assert not ok and text.startswith("MISMATCH: 1 dagRuns (snapshot: 2)")


def test_prune_deletes_the_oldest_beyond_keep():
    ids = ["20260103T000000Z-aaaaaa", "20260101T000000Z-aaaaaa", "20260102T000000Z-aaaaaa"]
    assert snaps.to_prune(ids, keep=1) == ["20260101T000000Z-aaaaaa", "20260102T000000Z-aaaaaa"]
    assert snaps.to_prune(ids, keep=5) == []
    assert snaps.to_prune(ids, keep=0) == sorted(ids)
    with pytest.raises(errors.Invalid):
        snaps.to_prune(ids, keep=-1)


def test_names_a_load_may_create():
    assert snaps.check_name("dev-2_b") == "dev-2_b"
    for bad in ("", "2dev", "a/b", "x" * 81, None):
        with pytest.raises(errors.Invalid, match="not a valid environment name"):
            snaps.check_name(bad)
