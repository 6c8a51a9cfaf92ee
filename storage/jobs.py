"""The table where APScheduler keeps the bot's scheduled jobs.

APScheduler's SQLAlchemyJobStore owns this table's contents; it is declared here
(with exactly the job store's columns) so that migrations create it and Alembic's
autogenerate knows it belongs to the schema.
"""

from sqlalchemy import Column, Float, LargeBinary, Table, Unicode
from sqlmodel import SQLModel

JOBS_TABLE = "apscheduler_jobs"

scheduled_jobs = Table(
    JOBS_TABLE,
    SQLModel.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
