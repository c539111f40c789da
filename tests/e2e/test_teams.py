"""MWAA's Teams on Airflow 3.3.2's multi-team mode: each team's DAG folder is a bundle of that team,
a token naming a team (and a person signed in through the identity provider with that team's
group) sees and runs only that team's DAGs (and the global ones), variables and
connections, and an update that
adds a team, moves one's folder and removes another reaches the running environment."""

import json

import httpx
import pytest

from tests import identity_provider
from tests.support import NETWORK, ROLE, UNPAUSED, ask, fetch, settle, status, wait_for

pytestmark = pytest.mark.e2e

NAME = "teams"
BUCKET = "teams-bucket"
ARN = f"arn:aws:s3:::{BUCKET}"
IDENTITY = {"StartUrl": "https://sso.example.com/start", "IdentityStoreId": "d-1234567890"}


def dag(dag_id: str) -> str:
    return f"from airflow.sdk import DAG\n\nwith DAG({dag_id!r}, schedule=None):\n    pass\n"


def team(path: str) -> dict:
    return {"SourceBucketArn": ARN, "DagS3Path": path}


class Tokens:
    """The environment's REST API with tokens the runtime mints, as the gateway's sign-in does."""

    def __init__(self, plane, name):
        self._plane, self.placement = plane, plane.environments.placement(name)
        self._base = f"http://127.0.0.1:{self.placement.web_port}/api/v2"

    def call(self, method, path, *, role="User", teams=None, body=None) -> httpx.Response:
        token = self._plane.driver.api_token(self.placement, username=f"{role}-{teams}", role=role, ttl=300,
                                             teams=teams)
        return httpx.request(method, self._base + path, headers={"Authorization": f"Bearer {token}"}, json=body,
                             timeout=30)

    def dags(self, *, stale=False, **who) -> set[str]:
        reply = self.call("GET", f"/dags?limit=100&exclude_stale={str(not stale).lower()}", **who)
        assert reply.status_code == 200, reply.text
        return {d["dag_id"] for d in reply.json()["dags"]}


def test_teams_see_their_own_dags_and_updates_reach_airflow(plane, clients, browser, idp):
    mwaa, s3 = clients
    s3.create_bucket(Bucket=BUCKET)
    for key, dag_id in {"dags/global_dag.py": "global_dag", "teams/team-a/a_dag.py": "a_dag",
                        "teams/team-b/b_dag.py": "b_dag", "teams/team-b2/b2_dag.py": "b2_dag",
                        "teams/team-c/c_dag.py": "c_dag"}.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=dag(dag_id).encode())
    mwaa.create_environment(Name=NAME, SourceBucketArn=ARN, DagS3Path="dags/", ExecutionRoleArn=ROLE,
                            NetworkConfiguration=NETWORK, AirflowVersion="3.3.2", AirflowConfigurationOptions=UNPAUSED,
                            IdentityCenterConfiguration=IDENTITY,
                            Teams={"team-a": team("teams/team-a/"), "team-b": team("teams/team-b/")})
    final, seen = settle(mwaa, NAME)
    assert final == "AVAILABLE", (seen, mwaa.get_environment(Name=NAME)["Environment"]["LastUpdate"])
    api = Tokens(plane, NAME)
    wait_for(ask(lambda: api.dags(role="Admin") == {"global_dag", "a_dag", "b_dag"}), timeout=180,
             what="the global and both teams' DAGs parsed")

    assert api.dags(teams=["team-a"]) == {"global_dag", "a_dag"}
    assert api.dags(teams=["team-b"]) == {"global_dag", "b_dag"}
    assert api.dags(teams=[]) == {"global_dag"}
    assert api.dags(teams=["team-a", "team-b"]) == {"global_dag", "a_dag", "b_dag"}
    run = {"logical_date": None}
    assert api.call("POST", "/dags/a_dag/dagRuns", teams=["team-a"], body=run).status_code == 200
    assert api.call("POST", "/dags/b_dag/dagRuns", teams=["team-a"], body=run).status_code == 403
    assert api.call("GET", "/dags/b_dag", teams=["team-a"]).status_code == 403
    for owner in ("team-a", "team-b"):  # variables and connections owned by a team, made by the admin
        made = api.call("POST", "/variables", role="Admin", body={"key": f"{owner}-var", "value": "1",
                                                                  "team_name": owner})
        assert made.status_code == 201, made.text
        made = api.call("POST", "/connections", role="Admin", body={"connection_id": f"{owner}-conn",
                                                                    "conn_type": "http", "team_name": owner})
        assert made.status_code == 201, made.text
    op = {"role": "Op", "teams": ["team-a"]}  # Op: the role that may read variables and connections
    assert {v["key"] for v in api.call("GET", "/variables", **op).json()["variables"]} == {"team-a-var"}
    assert api.call("GET", "/variables/team-b-var", **op).status_code == 403
    assert api.call("GET", "/connections/team-a-conn", **op).status_code == 200
    assert api.call("GET", "/connections/team-b-conn", **op).status_code == 403

    # people signed in through the identity provider: each team's group sees only its team's DAGs
    web = f"https://{mwaa.get_environment(Name=NAME)['Environment']['WebserverUrl']}"
    for person, own in (("tina", "a_dag"), ("tom", "b_dag")):  # groups team-a / team-b, both airflow-users
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{web}/")
        identity_provider.sign_in(page, person)
        page.wait_for_url(f"{web}/**", timeout=30000)
        listed = fetch(page, "GET", "/api/v2/dags?limit=100")
        assert listed["status"] == 200, listed
        assert {d["dag_id"] for d in json.loads(listed["text"])["dags"]} == {"global_dag", own}, person
        context.close()

    # add team-c, move team-b's folder, remove team-a
    mwaa.update_environment(Name=NAME, Teams={"AddOrUpdate": {"team-b": team("teams/team-b2/"),
                                                              "team-c": team("teams/team-c/")},
                                              "Remove": ["team-a"]})
    assert status(mwaa, NAME) == "UPDATING"
    final, seen = settle(mwaa, NAME)
    assert final == "AVAILABLE", (seen, mwaa.get_environment(Name=NAME)["Environment"]["LastUpdate"])
    assert set(mwaa.get_environment(Name=NAME)["Environment"]["Teams"]) == {"team-b", "team-c"}
    wait_for(ask(lambda: api.dags(role="Admin") == {"global_dag", "b2_dag", "c_dag"}), timeout=180,
             what="team-a's and team-b's old DAGs gone, team-b's new and team-c's there")
    assert api.dags(teams=["team-b"]) == {"global_dag", "b2_dag"}
    assert api.dags(teams=["team-c"]) == {"global_dag", "c_dag"}
    assert api.dags(teams=["team-a"]) == {"global_dag"}
    # the removed team's DAGs are stale but stay its own: no other team sees them, nor their code
    assert {"a_dag", "b_dag"} <= api.dags(role="Admin", stale=True)
    assert api.dags(teams=["team-b"], stale=True) == {"global_dag", "b_dag", "b2_dag"}
    assert api.call("GET", "/dagSources/a_dag", teams=["team-b"]).status_code == 403
    listed = plane.driver.airflow_cli(plane.environments.get(NAME).spec, api.placement, "teams", "list")
    assert "team-c" in listed.stdout, listed.stdout + listed.stderr
