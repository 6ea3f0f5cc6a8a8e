"""Airflow connections flowlake reads (alert targets, the pseudonyms' key), in a task and in the job a task starts.

A task asks Airflow. A job that a task started (spark-submit) cannot: a task's
processes may not reach the metadata database, and its children inherit the
database setting that says so. FlowlakeJobOperator reads these connections in
the task and hands them to its job in a file only its user can read, named by
CONNECTIONS_FILE_VARIABLE, never on a command line (spark-submit to YARN or
Kubernetes puts environment variables there). Standard library only, so that a
DAG file can import it at parse time.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

WEBHOOK_CONNECTION = "flowlake_alert_webhook"
SMTP_CONNECTION = "flowlake_smtp"
PSEUDONYM_KEY_CONNECTION = "flowlake_pseudonym_key"
# What a task hands the job it starts.
HANDED_CONNECTIONS = (WEBHOOK_CONNECTION, SMTP_CONNECTION, PSEUDONYM_KEY_CONNECTION)
CONNECTIONS_FILE_VARIABLE = "FLOWLAKE_AIRFLOW_CONNECTIONS_FILE"


@dataclass(frozen=True)
class ConnectionSettings:
    """What flowlake reads of an Airflow connection, in a form a job's process can be handed."""

    conn_type: str | None
    host: str | None
    port: int | None
    # The password, a webhook's path (its secret) and the extra (a webhook URL, the pseudonyms' key): never in a log
    # or an error, whoever prints this.
    schema: str | None = field(repr=False)
    login: str | None
    password: str | None = field(repr=False)
    extra_dejson: dict = field(repr=False)

    @classmethod
    def of(cls, connection) -> ConnectionSettings:
        return cls(
            conn_type=connection.conn_type,
            host=connection.host,
            port=connection.port,
            schema=connection.schema,
            login=connection.login,
            password=connection.password,
            extra_dejson=dict(connection.extra_dejson or {}),
        )


def write_connections_file(path: Path, connections: dict[str, ConnectionSettings]) -> Path:
    """The file a task hands its job (CONNECTIONS_FILE_VARIABLE names it): readable by its owner alone."""
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(json.dumps({conn_id: asdict(settings) for conn_id, settings in connections.items()}))
    return path


def airflow_connection(conn_id: str) -> ConnectionSettings | None:
    """The Airflow connection: the one handed over in a file, else Airflow's; None outside Airflow
    or when it is not defined."""
    handed = os.environ.get(CONNECTIONS_FILE_VARIABLE)
    if handed:
        settings = json.loads(Path(handed).read_text()).get(conn_id)
        return None if settings is None else ConnectionSettings(**settings)
    # Inside an Airflow process, or with the connection given the way Airflow reads it from the environment.
    if "airflow" not in sys.modules and f"AIRFLOW_CONN_{conn_id.upper()}" not in os.environ:
        return None
    try:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError:
        return None
    try:
        return ConnectionSettings.of(BaseHook.get_connection(conn_id))
    except AirflowNotFoundException:
        return None


def handed_connections() -> dict[str, ConnectionSettings]:
    """The connections of HANDED_CONNECTIONS that Airflow defines, read in a task for the job it starts."""
    found = {conn_id: airflow_connection(conn_id) for conn_id in HANDED_CONNECTIONS}
    return {conn_id: settings for conn_id, settings in found.items() if settings is not None}
