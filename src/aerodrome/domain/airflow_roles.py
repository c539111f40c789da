"""MWAA's Airflow roles and the names Airflow knows a signed-in caller by."""

from __future__ import annotations

# MWAA roles -> Airflow 3 SimpleAuthManager roles (MWAA's Public role has no Airflow 3 counterpart)
SIMPLE_ROLES = {"Admin": "ADMIN", "Op": "OP", "User": "USER", "Viewer": "VIEWER"}


def fab_user(role: str) -> str:
    """Airflow 2: the one FAB user per MWAA role (`mwaa-viewer`, ...)."""
    return f"mwaa-{role.lower()}"


def airflow_user(principal: str) -> str:
    """Airflow 3: the user name a principal's token carries."""
    return f"assumed-role/{principal}"
