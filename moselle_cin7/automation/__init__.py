"""Automation: the daily schedule, the change sensor, "sync now", support re-syncs and the Cin7
call budget they share. Modules are imported one by one (``definitions`` wires them), so the CLI
can load the light ones without Dagster."""
