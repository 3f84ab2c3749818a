"""Records inserted, edited, voided and moved while a sync pages through them.

Keyset paging asks each page for ids above the last one read, so a change lands in this run when
it happens ahead of the cursor and in the next run when it happens behind it: never twice, and
never lost for good. The account changes right after the first page ([101, 102]) was read.
"""

from __future__ import annotations

from moselle_cin7.sandbox import Fault
from moselle_cin7_tests.faults.scenario import FIRST, LAST, SALES, ids, table_rows
from moselle_cin7_tests.support import day, line, local_stamp, sales_order


def change_while_paging(account, params) -> None:
    account.upsert(
        "SalesOrders", sales_order("SO-150", day(3), [line("JKT-S", 1, id=9150)], id=150)
    )
    # Behind the cursor: Cin7 gives new records higher ids, but nothing here relies on it.
    account.upsert(
        "SalesOrders", sales_order("SO-100", day(3), [line("JKT-M", 1, id=9100)], id=100)
    )
    account.update("SalesOrders", 101, reference="SO-101-LATE")  # already read
    account.update("SalesOrders", 106, stage="Dispatched")  # not read yet
    account.update("SalesOrders", 104, invoiceDate=local_stamp(day(20)))  # leaves the range
    account.update("SalesOrders", 107, isVoid=True, status="Void")
    account.update("SalesOrders", 110, invoiceDate=local_stamp(day(2)))  # enters the range


def test_changes_during_the_scan_are_neither_lost_nor_doubled(synced):
    change = synced.server.faults.add(
        Fault("SalesOrders", "callback", callback=change_while_paging, after=1, times=1)
    )

    assert synced.sync(FIRST, LAST, selection=SALES).success

    assert synced.server.faults.fired(change) == 1
    raw = {row["cin7_id"]: row for row in table_rows(synced, "raw_sales_orders")}
    # 100 was inserted behind the cursor and 104 left the range; 110 and 150 came in ahead of it.
    assert sorted(raw) == [101, 102, 103, 105, 106, 107, 110, 150]
    assert raw[101]["payload"]["reference"] == "SO-101"
    assert raw[110]["partition_day"] == day(2)
    assert raw[107]["payload"]["isVoid"] is True
    lines = ids(synced, "sales_order_lines", "cin7_line_id")
    assert lines == [9101, 9102, 9103, 9104, 9106, 9107, 9110, 9150]

    # The next run reads what happened behind the cursor.
    assert synced.sync(FIRST, LAST, selection=SALES).success
    raw = {row["cin7_id"]: row for row in table_rows(synced, "raw_sales_orders")}
    assert sorted(raw) == [100, 101, 102, 103, 105, 106, 107, 110, 150]
    assert raw[101]["payload"]["reference"] == "SO-101-LATE"
    assert ids(synced, "sales_order_lines", "cin7_line_id") == [
        9100, 9101, 9102, 9103, 9104, 9106, 9107, 9110, 9150
    ]  # fmt: skip

    # The order that left the range is stored once, on its new day, when that day is synced.
    assert synced.sync(day(20), day(20), selection=SALES).success
    moved = [row for row in table_rows(synced, "raw_sales_orders") if row["cin7_id"] == 104]
    assert [row["partition_day"] for row in moved] == [day(20)]
