"""Tests against the PostgreSQL server on 127.0.0.1:5432, each in a database of its own."""
