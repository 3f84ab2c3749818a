"""The pandera models: failures are read back as one plain sentence per problem and row."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from moselle_cin7.quality import models


def test_values_keep_their_own_type_and_each_problem_is_named():
    frame = models.object_frame(
        [
            {"snapshot_date": date(2025, 3, 10), "cin7_option_id": 11, "warehouse_id": 1},
            {"snapshot_date": date(2025, 3, 10), "cin7_option_id": 11, "warehouse_id": 1},
            {"snapshot_date": datetime(2025, 3, 10), "cin7_option_id": True, "warehouse_id": None},
        ],
        ["snapshot_date", "cin7_option_id", "warehouse_id"],
    )
    schema = models.INVENTORY.select_columns(["snapshot_date", "cin7_option_id", "warehouse_id"])

    problems = models.schema_problems(schema, frame)

    assert problems == {
        0: [
            "(snapshot_date=datetime.date(2025, 3, 10), cin7_option_id=11, warehouse_id=1) is "
            "not unique"
        ],
        1: [
            "(snapshot_date=datetime.date(2025, 3, 10), cin7_option_id=11, warehouse_id=1) is "
            "not unique"
        ],
        2: [
            "snapshot_date datetime.datetime(2025, 3, 10, 0, 0) is not a calendar date",
            "cin7_option_id True is not a whole number",
            "warehouse_id is missing",
        ],
    }


def test_a_missing_column_is_a_problem_of_the_whole_frame():
    frame = pd.DataFrame({"warehouse_id": [1]}, dtype=object)
    assert models.schema_problems(models.WAREHOUSES, frame) == {
        None: ["column 'name' is missing", "column 'branch_type' is missing",
               "column 'enabled' is missing"]
    }  # fmt: skip


def test_a_frame_that_fits_has_no_problems():
    frame = models.object_frame(
        [{"warehouse_id": 1, "name": "Auckland", "branch_type": None, "enabled": True}],
        ["warehouse_id", "name", "branch_type", "enabled"],
    )
    assert models.schema_problems(models.WAREHOUSES, frame) == {}
