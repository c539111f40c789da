"""A first DAG: runs once when it appears, then daily. Edit it in the bucket and watch it change."""

from __future__ import annotations

import datetime

try:  # Airflow 3
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
try:
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:
    from airflow.operators.bash import BashOperator
    from airflow.operators.python import PythonOperator


def greet() -> str:
    import os

    message = f"Hello from {os.environ.get('MWAA_AIRFLOW_COMPONENT', 'airflow')}"
    print(message)
    return message


with DAG(
    dag_id="hello_aerodrome",
    start_date=datetime.datetime(2026, 1, 1),
    schedule="@daily",
    catchup=False,
    tags=["example"],
):
    hello = PythonOperator(task_id="hello", python_callable=greet)
    done = BashOperator(task_id="done", bash_command="echo done")
    hello >> done
