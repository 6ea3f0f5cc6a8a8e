"""What flowlake's DAG files share: settings, the Spark job operator, assets, alerting.

Lives inside the DAGs folder because Airflow puts that folder on sys.path for the
DAG processor and for every task; .airflowignore keeps it from being parsed as
DAG files. Nothing here imports Spark when a DAG file is parsed.
"""
