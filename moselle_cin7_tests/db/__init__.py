"""Tests of the planning-database layer that need no server (SQLite)."""
