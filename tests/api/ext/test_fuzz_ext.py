"""Generated requests against Aerodrome's own API (its paths with hostile names, every method, bodies
of wrong shapes, bad signatures): no reply is a 5xx, every error is JSON naming an AWS-style code,
and the API still answers afterwards. CI runs a short variant; AERODROME_FUZZ_REQUESTS=10000 a long one."""

import json
import os

import httpx

from aerodrome.api.ext.app import PREFIX
from tests.fuzzing import Generator

REQUESTS = int(os.environ.get("AERODROME_FUZZ_REQUESTS", "1500")) // 3
SEED = int(os.environ.get("AERODROME_FUZZ_SEED", "20261201"))


def problem(reply: httpx.Response) -> str:
    if reply.status_code >= 500:
        return f"HTTP {reply.status_code}"
    try:
        data = json.loads(reply.content or b"{}")
    except ValueError:
        return "not JSON"
    if reply.status_code >= 400 and not (isinstance(data, dict) and str(data.get("code", "")).endswith("Exception")):
        return f"an error without a code: {str(data)[:100]}"
    return ""


def test_generated_requests_to_the_aerodrome_api_never_fail_it(plane):
    generator = Generator(seed=SEED, key=plane["key"], secret=plane["secret"])
    failures, counts = [], {}
    with httpx.Client(base_url=plane["url"], timeout=30) as client:
        for case in generator.ext_cases(REQUESTS, PREFIX):
            reply = client.request(case.method, case.path + (f"?{case.query}" if case.query else ""),
                                   content=case.body, headers=case.headers)
            counts[reply.status_code] = counts.get(reply.status_code, 0) + 1
            if found := problem(reply):
                failures.append(f"case {case.number} ({case.mode} {case.method} {case.path[:80]}): {found}")
        still = client.get(f"{PREFIX}/events")
    assert not failures, f"{len(failures)} of {REQUESTS}:\n" + "\n".join(failures[:10])
    assert still.status_code == 403 and problem(still) == ""  # unsigned, answered: the server is up
    assert {s for s in counts if s < 300} and {s for s in counts if s >= 400}, counts
