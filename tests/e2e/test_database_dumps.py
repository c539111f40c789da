"""The metadata database's dump and restore, on the session's embedded PostgreSQL server (no Airflow)."""

import pytest

from aerodrome.runtimes.local.databases import Databases
from aerodrome.runtimes.local.postgres import Postgres
from aerodrome.runtimes.local.supervisor import Supervisor
from aerodrome.settings import Settings

pytestmark = pytest.mark.e2e


@pytest.fixture
def postgres(postgres_url, tmp_path):
    settings = Settings(home=tmp_path / "home", serve_s3=False, postgres_url=postgres_url)
    supervisor = Supervisor()
    server = Postgres(settings, supervisor)
    server.ensure_running()
    yield server, Databases(server), tmp_path
    supervisor.close()


def test_restore_brings_back_the_dumped_rows_for_the_same_and_another_environment(postgres):
    server, databases, tmp_path = postgres
    template = databases.ensure_template("0.0.0", migrate=lambda url: None)
    url = databases.create("aaaa1111", template, tmp_path / "a.secret")
    assert url.startswith("postgresql+psycopg2://env_aaaa1111:")
    server.sql("CREATE TABLE variable (key text PRIMARY KEY, val text)", database="env_aaaa1111")
    server.sql("INSERT INTO variable VALUES ('kept', 'yes')", database="env_aaaa1111")
    dump = tmp_path / "dumps" / "a.dump"
    databases.dump("aaaa1111", dump)
    assert dump.stat().st_size > 0 and not dump.with_name("a.dump.partial").exists()

    server.sql("DELETE FROM variable", database="env_aaaa1111")
    server.sql("INSERT INTO variable VALUES ('later', 'no')", database="env_aaaa1111")
    databases.restore("aaaa1111", dump, tmp_path / "a.secret")
    assert server.sql("SELECT string_agg(key, ',') FROM variable", database="env_aaaa1111") == "kept"

    databases.restore("bbbb2222", dump, tmp_path / "b.secret")  # into another environment
    assert server.sql("SELECT val FROM variable", database="env_bbbb2222") == "yes"
    owner = server.sql("SELECT tableowner FROM pg_tables WHERE tablename = 'variable'", database="env_bbbb2222")
    assert owner == "env_bbbb2222"


def test_a_broken_dump_fails_with_the_tools_message(postgres):
    server, databases, tmp_path = postgres
    bad = tmp_path / "bad.dump"
    bad.write_bytes(b"not a dump")
    template = databases.ensure_template("0.0.0", migrate=lambda url: None)
    databases.create("cccc3333", template, tmp_path / "c.secret")
    server.sql("CREATE TABLE pool (name text)", database="env_cccc3333")
    server.sql("INSERT INTO pool VALUES ('still here')", database="env_cccc3333")
    with pytest.raises(Exception, match="restoring the metadata database failed"):
        databases.restore("cccc3333", bad, tmp_path / "c.secret")
    # the current database is untouched and no half-restored copy is left behind
    assert server.sql("SELECT name FROM pool", database="env_cccc3333") == "still here"
    assert not server.database_exists("env_cccc3333_restoring")


def test_an_environment_database_leaves_every_template_to_its_owner(postgres):
    """With templates for two Airflow versions on the server, an environment's role owns its own database
    only, so deleting the environment drops the role."""
    server, databases, tmp_path = postgres
    first = databases.ensure_template("0.0.1", migrate=lambda url: None)
    second = databases.ensure_template("0.0.2", migrate=lambda url: None)
    databases.create("dddd4444", second, tmp_path / "d.secret")
    owners = server.sql(f"SELECT string_agg(pg_get_userbyid(datdba), ',' ORDER BY datname) FROM pg_database "
                        f"WHERE datname IN ('{first}', '{second}')")
    assert owners == "airflow_template,airflow_template"
    databases.drop("dddd4444")
    assert not server.database_exists("env_dddd4444")
    assert server.sql("SELECT 1 FROM pg_roles WHERE rolname = 'env_dddd4444'") == ""


def test_a_create_cut_short_is_finished_by_the_next_one_and_drop_still_works(postgres):
    """A control plane killed inside `create` (found by the chaos bench): the database exists but its
    objects still belong to the template's owner, PUBLIC may still connect, and a template database
    was moved to the environment's role. The next `create` finishes each step; `drop` works even from
    the half-done state."""
    server, databases, tmp_path = postgres
    template = databases.ensure_template("0.0.3", migrate=lambda url: None)
    databases.create("eeee5555", template, tmp_path / "e.secret")
    # undo the later steps, as a kill after CREATE DATABASE leaves them
    server.sql("CREATE TABLE half (id int)", database="env_eeee5555")
    server.sql("ALTER TABLE half OWNER TO airflow_template", database="env_eeee5555")
    server.sql("GRANT CONNECT ON DATABASE env_eeee5555 TO PUBLIC")
    server.sql(f"ALTER DATABASE {template} OWNER TO env_eeee5555")
    databases.create("eeee5555", template, tmp_path / "e.secret")
    assert server.sql("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'half'",
                      database="env_eeee5555") == "env_eeee5555"
    assert server.sql("SELECT has_database_privilege('public', 'env_eeee5555', 'CONNECT')") == "f"
    assert server.sql(f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{template}'") == \
        "airflow_template"
    server.sql(f"ALTER DATABASE {template} OWNER TO env_eeee5555")  # cut short again, then deleted
    databases.drop("eeee5555")
    assert server.sql("SELECT 1 FROM pg_roles WHERE rolname = 'env_eeee5555'") == ""
    assert server.database_exists(template)
