"""The data-quality gate: pandera models of every table, the checks Dagster runs on each raw and
mapped asset, and the quarantine table where every failing record is kept with its reason.

``rules`` holds what each check looks for (plain functions of the database), ``checks`` wires them
into Dagster (blocking or warning), ``models`` holds the pandera models, ``quarantine`` the table.
"""
