from aerodrome.runtimes.local import schema


def test_parse_report_reads_files_relative_to_the_dag_folder(tmp_path):
    dags = tmp_path / "dags"
    (dags / "sub").mkdir(parents=True)
    for name in ("a.py", "sub/b.py", "bad.py"):
        (dags / name).write_text("")

    def sql(statement):
        if statement.startswith("SELECT fileloc"):
            return f"{dags}/a.py\nsub/b.py\n{dags}/gone.py\n"
        trace = chr(29).join(["Traceback (most recent call last):", '  File "bad.py", line 4', "",
                              "ImportError: cannot import name 'days_ago'"])
        row = "bad.py" + chr(31) + trace + chr(30)
        return row + "\n"

    report = schema.parse_report(sql, dags_dir=dags, since=12.5)
    assert report.parsed == {"a.py", "sub/b.py"}
    assert report.errors == {"bad.py": "ImportError: cannot import name 'days_ago'"}


def test_the_fab_overlay_is_only_for_moves_from_3_to_2(tmp_path):
    for current, target in (("2.11.2", "3.3.2"), ("3.3.2", "3.2.1"), ("2.11.2", "2.11.0")):
        assert schema.tools(current=current, target=target, current_venv=tmp_path, venvs_dir=tmp_path) is None


def test_the_generated_config_is_set_aside(tmp_path):
    (tmp_path / "airflow.cfg").write_text("[core]\n")
    schema.set_aside_config(tmp_path, "airflow-3.3.2")
    assert not (tmp_path / "airflow.cfg").exists() and (tmp_path / "airflow.cfg.airflow-3.3.2").exists()
    schema.set_aside_config(tmp_path, "again")  # nothing to set aside
