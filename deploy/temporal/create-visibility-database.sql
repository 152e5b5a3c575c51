-- Runs once, when the Temporal PostgreSQL volume is first initialised (POSTGRES_DB creates `temporal`).
-- Temporal keeps visibility (the workflow list and search attributes) in a database of its own.
CREATE DATABASE temporal_visibility OWNER temporal;
