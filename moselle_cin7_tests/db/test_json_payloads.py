"""Raw payloads read back exactly as stored, whichever JSON decoder reads them."""

from __future__ import annotations

import math
from pathlib import Path

import sqlalchemy as sa

from moselle_cin7.db.engine import engine_for, read_json


def test_documents_orjson_refuses_still_read_as_json_reads_them() -> None:
    assert read_json('{"id": 18446744073709551616}') == {"id": 2**64}
    assert math.isnan(read_json('{"qty": NaN}')["qty"])
    assert read_json('{"name": "\\ud800"}') == {"name": "\ud800"}
    assert read_json(b'{"id": 7, "lines": [{"code": "M\\u00fcg"}]}') == {
        "id": 7,
        "lines": [{"code": "M\u00fcg"}],
    }


def test_a_json_column_round_trips_big_ids_and_text(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'payloads.sqlite'}")
    table = sa.Table(
        "payloads",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("payload", sa.JSON),
    )
    table.create(engine)
    stored = [
        {"id": 2**63, "reference": "SO-1 #\u00e9"},
        {"id": 12, "qty": 1.5, "lineItems": [{"id": 3, "code": None}]},
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(table), [{"id": n, "payload": p} for n, p in enumerate(stored)])
    with engine.connect() as conn:
        read = conn.execute(sa.select(table.c.payload).order_by(table.c.id)).scalars().all()
    assert read == stored
