"""The product's one database: cases, accounts, the audit log and approved limit changes.

SQLAlchemy 2 with typed models, and Alembic migrations shipped in the package
(``rma/db/migrations``), one chain for the whole product. ``RMA_DATABASE_URL`` names it;
empty means a SQLite file under ``RMA_DATA_DIR`` (WAL journal, foreign keys on).

Why asyncio (SQLAlchemy's asyncio extension, aiosqlite and psycopg 3) rather than sync
sessions in threads: request paths are async, and ``asyncio.to_thread`` shares one small
default pool (a handful of threads on a two-core server) with OCR, embeddings and PDF
work, so database calls would queue behind them. psycopg 3 serves PostgreSQL both ways:
Alembic runs sync (it is a start-up or operator step), the services run async, one driver.

What it refuses: a URL for another database or driver (stated at start-up, not guessed),
a password both in the URL and in ``RMA_DATABASE_PASSWORD``, and a database migrated
by a newer RMA than this one.
"""

from rma.db.base import Base
from rma.db.engine import Database, DatabaseURLs, database_urls
from rma.db.migrate import MigrationState, ensure_current

__all__ = ["Base", "Database", "DatabaseURLs", "MigrationState", "database_urls", "ensure_current"]
