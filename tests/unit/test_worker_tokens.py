"""Join tokens for remote worker hosts, pure: lifetimes, queue names, the token's text, and which
presented tokens may join (foreign, another environment, revoked, expired unused, another host)."""

import pytest

from aerodrome import errors
from aerodrome.domain import worker_tokens as wt

SECRET = "s" * 43


def stored(**changes) -> wt.WorkerToken:
    fields = {"token_id": "0123456789abcdef", "environment": "dev", "queue": "gpu",
              "secret_hash": wt.hash_secret(SECRET), "created_at": 1000.0, "expires_at": 4600.0,
              "created_by": "admin"}
    return wt.WorkerToken(**{**fields, **changes})


@pytest.mark.parametrize(("given", "seconds"), [(None, 86400), ("90", 90), ("90s", 90), ("30m", 1800),
                                                ("12H", 43200), ("7d", 604800), (3600, 3600)])
def test_lifetimes(given, seconds):
    assert wt.parse_ttl(given) == seconds


@pytest.mark.parametrize(("given", "message"), [("soon", "'soon' is not a lifetime"),
                                                ("10s", "from 60 seconds to 30 days; '10s' is 10 seconds"),
                                                ("31d", "'31d' is 2678400 seconds"), ("-5m", "not a lifetime")])
def test_bad_lifetimes(given, message):
    with pytest.raises(errors.Invalid, match=message):
        wt.parse_ttl(given)


def test_queue_names():
    assert wt.check_queue(None) == "default"
    assert wt.check_queue("gpu.large-1") == "gpu.large-1"
    for bad in ("", "-gpu", "a b", "x" * 65, 7):
        with pytest.raises(errors.Invalid, match="is not a queue name"):
            wt.check_queue(bad)


def test_the_text_splits_back_and_other_shapes_are_foreign():
    assert wt.split(wt.text("0123456789abcdef", SECRET)) == ("0123456789abcdef", SECRET)
    for bad in ("", "adw1.0123.x", "adw2.0123456789abcdef." + SECRET, None, 12):
        with pytest.raises(errors.AccessDenied, match="not issued by this control plane"):
            wt.split(bad)


def test_first_host_joins_and_owns_the_token():
    joined = wt.admit(stored(), SECRET, host="edge-1", now=2000.0)
    assert (joined.host, joined.joined_at) == ("edge-1", 2000.0)
    assert wt.state(joined, 2000.0) == "joined"
    # the same host again (a restart), even after the joining deadline: still its token
    assert wt.admit(joined, SECRET, host="edge-1", now=9000.0) == joined
    with pytest.raises(errors.AccessDenied, match="belongs to host edge-1; each host joins with a token of its own"):
        wt.admit(joined, SECRET, host="edge-2", now=2001.0)


def test_refusals_say_why():
    with pytest.raises(errors.AccessDenied, match="not issued by this control plane"):
        wt.admit(None, SECRET, host="h", now=2000.0)
    with pytest.raises(errors.AccessDenied, match="not issued by this control plane"):
        wt.admit(stored(), "t" * 43, host="h", now=2000.0)  # right id, wrong secret: no hint which
    with pytest.raises(errors.AccessDenied, match="is for environment dev, not prod"):
        wt.admit(stored(), SECRET, host="h", now=2000.0, environment="prod")
    with pytest.raises(errors.AccessDenied, match="was revoked at 1970-01-01T00:50:00Z"):
        wt.admit(stored(revoked_at=3000.0, host="h"), SECRET, host="h", now=3001.0)
    with pytest.raises(errors.AccessDenied, match="expired at 1970-01-01T01:16:40Z unused; ask for a new one with "
                                                  "`aerodrome worker token dev`"):
        wt.admit(stored(), SECRET, host="h", now=4600.0)
    assert wt.state(stored(), 4600.0) == "expired"
    assert wt.state(stored(), 4599.0) == "unused"
    assert wt.state(stored(revoked_at=3000.0), 3001.0) == "revoked"


def test_host_names():
    assert wt.check_host("10.0.0.2:worker-a") == "10.0.0.2:worker-a"
    for bad in (None, "", "a b", "-x", "h" * 129):
        with pytest.raises(errors.Invalid, match="Host must name the joining host"):
            wt.check_host(bad)
