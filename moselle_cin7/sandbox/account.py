"""The sandbox's Cin7 Omni account: every record of every resource, safe to change while served.

Records are the plain camelCase dicts the API returns. Generated accounts may also hold compact
records (see ``records.py``) that write the same dicts on demand; nothing outside this package can
tell the two apart.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from moselle_cin7.sandbox.constants import (
    DEFAULT_TIMEZONE,
    DOCUMENTED_FIELDS,
    DOCUMENTED_NESTED_FIELDS,
    ENDPOINTS,
    NESTED_FIELDS,
    STOCK_KEY,
)
from moselle_cin7.sandbox.query import bisect_range, is_date_field, sort_value
from moselle_cin7.sandbox.records import CompactRecord
from moselle_cin7.sandbox.timestamps import cached_ticks

logger = logging.getLogger(__name__)

METADATA_FILE = "account.json"
_RESULT_CACHE_SIZE = 16

Key = Any  # an int id, or (productOptionId, branchId) for Stock


def clone(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars), much faster than ``deepcopy``."""
    if isinstance(value, dict):
        return {key: clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clone(item) for item in value]
    return value


def canonical_endpoint(name: str) -> str:
    for endpoint in ENDPOINTS:
        if endpoint.casefold() == str(name).casefold():
            return endpoint
    raise ValueError(f"unknown Cin7 resource {name!r}; expected one of {', '.join(ENDPOINTS)}")


class Table:
    """The rows of one resource, keyed by id (Stock: by option and branch), with the field names
    seen so far, lazily built sorted indexes, and remembered query results. Callers hold the
    account's lock."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.keyed_by_id = endpoint != "Stock"
        self.nested_field = NESTED_FIELDS.get(endpoint)
        self.rows: dict[Key, dict[str, Any] | CompactRecord] = {}
        self.version = 0
        self.sequence = 0
        self._fields: dict[str, str] = {}
        self._field_position: dict[str, int] = {}
        self._nested: dict[str, str] = {}
        self._nested_position: dict[str, int] = {}
        self._indexes: dict[str, tuple[list[Any], list[Key]]] = {}
        self._results: OrderedDict[Any, Any] = OrderedDict()
        self.register_fields(DOCUMENTED_FIELDS[endpoint])
        self.register_nested_fields(DOCUMENTED_NESTED_FIELDS.get(endpoint, ()))

    # ------------------------------------------------------------------ field names

    def register_fields(self, names: Iterable[str]) -> None:
        for name in names:
            folded = name.casefold()
            if folded not in self._fields:
                self._fields[folded] = name
                self._field_position[name] = len(self._field_position)

    def register_nested_fields(self, names: Iterable[str]) -> None:
        for name in names:
            folded = name.casefold()
            if folded not in self._nested:
                self._nested[folded] = name
                self._nested_position[name] = len(self._nested_position)

    def header_field(self, name: str) -> str | None:
        """The stored spelling of a header field named in any case, or ``None`` if unknown."""
        return self._fields.get(str(name).casefold())

    def nested_field_of(self, name: str) -> str | None:
        return self._nested.get(str(name).casefold())

    def sort_header_fields(self, names: Iterable[str]) -> list[str]:
        return sorted(names, key=self._field_position.__getitem__)

    def sort_nested_fields(self, names: Iterable[str]) -> list[str]:
        return sorted(set(names), key=self._nested_position.__getitem__)

    # ------------------------------------------------------------------ rows

    def key_of(self, record: Mapping[str, Any]) -> Key:
        if not self.keyed_by_id:
            try:
                return tuple(_as_int(record[name], name) for name in STOCK_KEY)
            except KeyError as error:
                raise ValueError(f"a Stock record needs {error.args[0]!r}") from None
        if "id" not in record:
            raise ValueError(f"a {self.endpoint} record needs an 'id'")
        return _as_int(record["id"], "id")

    def normalise_key(self, key: Any) -> Key:
        if self.keyed_by_id:
            return _as_int(key, "id")
        if not isinstance(key, tuple | list) or len(key) != 2:
            raise KeyError(f"a Stock key is (productOptionId, branchId), not {key!r}")
        return (_as_int(key[0], "productOptionId"), _as_int(key[1], "branchId"))

    def put(self, key: Key, row: dict[str, Any] | CompactRecord) -> None:
        if isinstance(row, dict):
            self.register_fields(row)
            nested = row.get(self.nested_field) if self.nested_field else None
            if isinstance(nested, list):
                for item in nested:
                    if isinstance(item, dict):
                        self.register_nested_fields(item)
        self.rows[key] = row
        if self.keyed_by_id and key > self.sequence:
            self.sequence = key

    def put_compact(self, rows: Iterable[CompactRecord]) -> None:
        """Load generated rows in bulk (their fields are the documented ones)."""
        for row in rows:
            key = row.key
            self.rows[key] = row
            if self.keyed_by_id and key > self.sequence:
                self.sequence = key
        self.changed()

    def changed(self) -> None:
        self.version += 1
        self._indexes.clear()
        self._results.clear()

    @staticmethod
    def materialize(row: dict[str, Any] | CompactRecord) -> dict[str, Any]:
        return row if type(row) is dict else row.materialize()

    # ------------------------------------------------------------------ reading fields

    def value_getter(self, field: str) -> Callable[[Any], Any]:
        def value_of(row: Any) -> Any:
            if type(row) is dict:
                return row.get(field)
            return row.value(field)

        return value_of

    def ticks_getter(self, field: str) -> Callable[[Any], int | None]:
        """Reads a date field as ticks; text that is not a date reads as null."""

        def ticks_of(row: Any) -> int | None:
            if type(row) is dict:
                raw = row.get(field)
                return cached_ticks(raw) if isinstance(raw, str) else None
            return row.ticks(field)

        return ticks_of

    def sort_key_getter(self, field: str, case_insensitive: bool) -> Callable[[Key], tuple]:
        rows = self.rows
        if is_date_field(field):
            ticks_of = self.ticks_getter(field)

            def date_key(key: Key) -> tuple:
                ticks = ticks_of(rows[key])
                return (0, 0) if ticks is None else (1, ticks)

            return date_key
        value_of = self.value_getter(field)
        return lambda key: sort_value(value_of(rows[key]), case_insensitive)

    # ------------------------------------------------------------------ indexes and results

    def indexable(self, field: str) -> bool:
        return (field == "id" and self.keyed_by_id) or is_date_field(field)

    def _index(self, field: str) -> tuple[list[Any], list[Key]]:
        index = self._indexes.get(field)
        if index is None:
            if field == "id":
                keys = sorted(self.rows)
                index = (keys, keys)
            else:
                ticks_of = self.ticks_getter(field)
                pairs = []
                for key, row in self.rows.items():
                    ticks = ticks_of(row)
                    if ticks is not None:
                        pairs.append((ticks, key))
                pairs.sort()
                index = ([ticks for ticks, _ in pairs], [key for _, key in pairs])
            self._indexes[field] = index
        return index

    def count_in_range(
        self, field: str, low: Any, low_inclusive: bool, high: Any, high_inclusive: bool
    ) -> int:
        values, _ = self._index(field)
        start, end = bisect_range(values, low, low_inclusive, high, high_inclusive)
        return end - start

    def keys_in_range(
        self, field: str, low: Any, low_inclusive: bool, high: Any, high_inclusive: bool
    ) -> list[Key]:
        values, keys = self._index(field)
        start, end = bisect_range(values, low, low_inclusive, high, high_inclusive)
        return keys[start:end]

    def cached_result(self, cache_key: Any) -> Any:
        keys = self._results.get(cache_key)
        if keys is not None:
            self._results.move_to_end(cache_key)
        return keys

    def remember_result(self, cache_key: Any, keys: Any) -> None:
        self._results[cache_key] = keys
        while len(self._results) > _RESULT_CACHE_SIZE:
            self._results.popitem(last=False)


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer, not {value!r}") from None
    if isinstance(value, float) and number != value:
        raise ValueError(f"{name} must be an integer, not {value!r}")
    return number


class SandboxAccount:
    """One Cin7 Omni account's records, as the API returns them.

    Args:
        records: per resource name (see ``ENDPOINTS``), the records as plain camelCase dicts.
            ``ProductOptions`` is served from the options nested in ``Products`` unless records
            for it are given here, in which case they are served as given.
        timezone: the IANA zone the account's users type their dates in.

    Every method is thread-safe, so a test may change records while a server answers from them.
    ``update`` and ``upsert`` store what they are given: they do not move ``modifiedDate``, and
    they do not recompute Stock.
    """

    def __init__(
        self,
        records: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
        *,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        self._lock = threading.RLock()
        self._timezone = timezone
        self._tables = {endpoint: Table(endpoint) for endpoint in ENDPOINTS}
        self._explicit_options = False
        self._derived_options: Table | None = None
        self._derived_from_version = -1
        for name, rows in (records or {}).items():
            endpoint = canonical_endpoint(name)
            if endpoint == "ProductOptions":
                self._explicit_options = True
            table = self._tables[endpoint]
            for record in rows:
                if not isinstance(record, Mapping):
                    raise ValueError(f"{endpoint} records must be JSON objects, not {record!r}")
                copied = clone(dict(record))
                table.put(table.key_of(copied), copied)
            table.changed()

    @property
    def timezone(self) -> str:
        return self._timezone

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    # ------------------------------------------------------------------ folders

    @classmethod
    def from_folder(cls, path: str | Path, timezone: str | None = None) -> SandboxAccount:
        """Read ``<Resource>.json`` files (each a JSON array of records, as the API returns them,
        so saved real payloads can be replayed) and the optional ``account.json``."""
        folder = Path(path)
        if not folder.is_dir():
            raise FileNotFoundError(f"no account folder at {folder}")
        metadata: dict[str, Any] = {}
        metadata_path = folder / METADATA_FILE
        if metadata_path.exists():
            metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
        records: dict[str, list[dict[str, Any]]] = {}
        for endpoint in ENDPOINTS:
            file = folder / f"{endpoint}.json"
            if not file.exists():
                continue
            with file.open(encoding="utf-8") as stream:
                loaded = json.load(stream)
            if not isinstance(loaded, list):
                raise ValueError(f"{file} must hold a JSON array of records")
            records[endpoint] = loaded
        account = cls(records, timezone=timezone or metadata.get("timezone") or DEFAULT_TIMEZONE)
        with account._lock:
            for endpoint, sequence in (metadata.get("sequences") or {}).items():
                table = account._tables[canonical_endpoint(endpoint)]
                table.sequence = max(table.sequence, int(sequence))
        logger.info("loaded sandbox account from %s (%s)", folder, ", ".join(records) or "empty")
        return account

    def to_folder(self, path: str | Path) -> None:
        """Write one ``<Resource>.json`` per resource and ``account.json`` (time zone, id
        sequences). Derived ProductOptions are not written: they follow the Products."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        for endpoint in ENDPOINTS:
            if endpoint == "ProductOptions" and not self._explicit_options:
                continue
            with self._lock:
                table = self._tables[endpoint]
                rows = [table.rows[key] for key in sorted(table.rows)]
            with (folder / f"{endpoint}.json").open("w", encoding="utf-8") as stream:
                stream.write("[")
                for position, row in enumerate(rows):
                    stream.write(",\n" if position else "\n")
                    stream.write(json.dumps(Table.materialize(row), ensure_ascii=False))
                stream.write("\n]\n")
        with self._lock:
            sequences = {
                endpoint: table.sequence
                for endpoint, table in self._tables.items()
                if table.keyed_by_id
            }
        metadata = {"timezone": self._timezone, "sequences": sequences}
        (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")

    # ------------------------------------------------------------------ reading

    def table(self, endpoint: str) -> Table:
        """The table answering ``endpoint``; callers hold ``lock`` while they use it."""
        endpoint = canonical_endpoint(endpoint)
        if endpoint != "ProductOptions" or self._explicit_options:
            return self._tables[endpoint]
        products = self._tables["Products"]
        if self._derived_options is None or self._derived_from_version != products.version:
            derived = Table("ProductOptions")
            for product in products.rows.values():
                options = Table.materialize(product).get("productOptions") or []
                for option in options:
                    if isinstance(option, dict) and "id" in option:
                        derived.put(derived.key_of(option), option)
            derived.changed()
            self._derived_options = derived
            self._derived_from_version = products.version
        return self._derived_options

    def records(self, endpoint: str) -> list[dict[str, Any]]:
        """Deep copies of every record of ``endpoint``, in key order (oldest id first)."""
        with self._lock:
            table = self.table(endpoint)
            rows = [table.rows[key] for key in sorted(table.rows)]
        return [clone(Table.materialize(row)) for row in rows]

    def get(self, endpoint: str, record_id: Any) -> dict[str, Any] | None:
        """A deep copy of one record, or ``None``."""
        with self._lock:
            table = self.table(endpoint)
            row = table.rows.get(table.normalise_key(record_id))
        return None if row is None else clone(Table.materialize(row))

    def count(self, endpoint: str) -> int:
        with self._lock:
            return len(self.table(endpoint).rows)

    # ------------------------------------------------------------------ changing

    def upsert(self, endpoint: str, record: Mapping[str, Any]) -> Key:
        """Insert ``record`` or replace the one with the same key, and return the key.

        A record without ``id`` (except Stock) gets ``next_id``. A ProductOptions record is stored
        inside its product (``productId``) when the options are derived from Products.
        """
        endpoint = canonical_endpoint(endpoint)
        stored = clone(dict(record))
        with self._lock:
            if endpoint == "ProductOptions" and not self._explicit_options:
                return self._upsert_derived_option(stored)
            table = self._tables[endpoint]
            if table.keyed_by_id and stored.get("id") is None:
                stored["id"] = self.next_id(endpoint)
            key = table.key_of(stored)
            table.put(key, stored)
            table.changed()
            return key

    def update(self, endpoint: str, record_id: Any, **changes: Any) -> dict[str, Any]:
        """Change header fields of a stored record (a shallow replace); returns a copy of it.

        Raises:
            KeyError: no such record.
        """
        endpoint = canonical_endpoint(endpoint)
        with self._lock:
            table = self.table(endpoint)
            key = table.normalise_key(record_id)
            if key not in table.rows:
                raise KeyError(f"{endpoint} {record_id!r} is not in the account")
            record = dict(Table.materialize(table.rows[key]))
            record.update(clone(changes))
            if table.key_of(record) != key:
                raise ValueError("update cannot change a record's key; remove and upsert instead")
            if endpoint == "ProductOptions" and not self._explicit_options:
                self._upsert_derived_option(record)
            else:
                table.put(key, record)
                table.changed()
            return clone(record)

    def remove(self, endpoint: str, record_id: Any) -> None:
        """Delete a record, as Cin7 does when it purges a void after about six months.

        Raises:
            KeyError: no such record.
        """
        endpoint = canonical_endpoint(endpoint)
        with self._lock:
            table = self.table(endpoint)
            key = table.normalise_key(record_id)
            if key not in table.rows:
                raise KeyError(f"{endpoint} {record_id!r} is not in the account")
            if endpoint == "ProductOptions" and not self._explicit_options:
                option = Table.materialize(table.rows[key])
                self._replace_product_options(
                    option.get("productId"),
                    lambda options: [o for o in options if o.get("id") != key],
                )
                return
            del table.rows[key]
            table.changed()

    def next_id(self, endpoint: str) -> int:
        """Hand out the next id of ``endpoint``: above every id it holds or handed out before,
        as Cin7's ids grow with creation. Each call reserves a new id."""
        endpoint = canonical_endpoint(endpoint)
        if endpoint == "Stock":
            raise ValueError(
                "Stock rows have no id: they are keyed by productOptionId and branchId"
            )
        with self._lock:
            # Derived ProductOptions keep their sequence on the (otherwise unused) own table.
            sequence = self._tables[endpoint]
            sequence.sequence = max(sequence.sequence, self.table(endpoint).sequence) + 1
            return sequence.sequence

    def _upsert_derived_option(self, option: dict[str, Any]) -> int:
        if option.get("id") is None:
            option["id"] = self.next_id("ProductOptions")
        option_id = _as_int(option["id"], "id")
        if option.get("productId") is None:
            raise ValueError("a ProductOptions record needs the 'productId' of its product")

        def replace(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
            replaced = [
                option if existing.get("id") == option_id else existing for existing in options
            ]
            if not any(existing.get("id") == option_id for existing in options):
                replaced.append(option)
            return replaced

        self._replace_product_options(option["productId"], replace)
        return option_id

    def _replace_product_options(
        self,
        product_id: Any,
        change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    ) -> None:
        products = self._tables["Products"]
        key = products.normalise_key(product_id)
        if key not in products.rows:
            raise KeyError(f"Products {product_id!r} is not in the account")
        product = dict(Table.materialize(products.rows[key]))
        product["productOptions"] = change(list(product.get("productOptions") or []))
        products.put(key, product)
        products.changed()
