"""Bring a records database to the newest schema with Alembic, from code (no alembic.ini).

The recorder runs this at start-up (RecordsSettings.migrate); by hand:
`python -m voxline.telemetry.records.migrate postgresql+psycopg://user@host/db`.
"""

from __future__ import annotations

import sys

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine

SCRIPT_LOCATION = "voxline.telemetry.records:migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if url is not None:
        config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m voxline.telemetry.records.migrate DATABASE_URL", file=sys.stderr)
        return 2
    upgrade(create_engine(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
