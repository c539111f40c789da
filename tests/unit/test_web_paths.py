import pytest

from aerodrome import errors
from aerodrome.domain import web_paths


@pytest.mark.parametrize("path", ["/dags", "/dags/my_dag/dagRuns", "/dags/a%20b/tasks", "/variables/x.y"])
def test_rest_api_paths_inside_the_api_pass_unchanged(path):
    assert web_paths.rest_api_path(path) == path


@pytest.mark.parametrize("path", [
    "/../config", "/dags/../../health", "/dags/%2e%2e/%2e%2e/config", "/dags/%252e%252e/x", "/dags/%2E%2E",
    "/./dags", "dags", "%2fdags", "/dags\\..\\x", "/dags/%5c..", "//evil", "/dags//x", "/dags?limit=1",
    "/dags#x", "/dags/%00", "/dags/\n",
])
def test_rest_api_paths_that_could_leave_the_api_are_refused(path):
    with pytest.raises(errors.Invalid, match="Path must"):
        web_paths.rest_api_path(path)


@pytest.mark.parametrize("target", ["/", "/home", "/dags/x/grid?tab=graph", "/a%20b"])
def test_same_origin_paths_are_kept(target):
    assert web_paths.same_origin(target) == target


@pytest.mark.parametrize("target", [
    "//evil.example", "/\\evil.example", "/\\/evil.example", "https:evil.example", "https://evil.example",
    "evil.example", "/%2f%2fevil.example", "/%5cevil.example", "%2f%2fevil.example", "/\tevil", "",
    "javascript:alert(1)",
])
def test_targets_that_could_leave_the_endpoint_are_refused(target):
    assert web_paths.same_origin(target) is None
