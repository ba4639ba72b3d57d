"""The shared backend: PostgreSQL through psycopg 3 and its async connection pool."""
