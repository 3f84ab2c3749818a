"""Deterministic, realistic Cin7 Omni accounts for the sandbox.

``generate_account(seed, profile, today, timezone)`` builds the same account for the same four
arguments. The account is written as it stands at 06:00 local time on ``today`` (the overnight
Shopify orders are in, the day's work has not started), with ``history_days`` of history ending
that morning.

What the generated account holds, by design:

* Branches (ids are the same in every profile): 3 "Auckland Warehouse" (Head Office),
  4 "Christchurch Warehouse" (Warehouse), 5 "Wellington Store" (Retail, not in "tiny"),
  6 "Online Store" (Retail, fed by Shopify), 7 "Wholesale Allocation" (Allocation),
  8 "Hamilton Warehouse (closed)" (Warehouse, inactive; it has old sales only), and from 9 up more
  stores and warehouses in the larger profiles.
* Shopify orders: branch 6, ``source`` "Shopify" (``ProfileSpec.shopify_source``), references
  ``#1001``, ``#1002``... and a retail customer contact. A few orders at branch 6 are phone
  orders typed by staff (``source`` null, ``SO-`` references), so a rule on the branch alone
  and a rule on the source do not agree.
* Business dates (invoiceDate, dispatchedDate, estimatedDeliveryDate, fullyReceivedDate,
  receivedDate) are typed in the account's zone: about a third are a bare date (local midnight),
  some fall minutes before or after local midnight, the rest in the working day; they are then
  written in one of several text forms (see ``timestamps.TIMESTAMP_FORMS``), so the UTC day of a
  business date is often not its local day.
* Stock rows exist for every option at every active branch that is not an allocation branch, and
  agree with the open transactions: ``openSales`` = qty - qtyShipped of the lines of approved,
  not voided, not dispatched sales orders at that branch (kit component lines count, kit lines do
  not: kits hold no stock); ``incoming`` = qty - qtyShipped of approved, not voided, not fully
  received purchase orders at that branch; ``holding`` = qty of dispatched, not yet received
  transfers, shown at the **source** branch by default (``ProfileSpec.holding_side``); the sent
  quantity has already left the source's ``stockOnHand``; ``available`` = stockOnHand - openSales;
  ``virtual`` on a kit = how many kits the branch's available components make.
* Voided orders older than ``void_purge_days`` are gone (purged), leaving gaps in the ids.
"""

from __future__ import annotations

import logging
import math
import random
import time
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any, Literal
from zoneinfo import ZoneInfo

from moselle_cin7.sandbox.account import SandboxAccount
from moselle_cin7.sandbox.constants import DEFAULT_TIMEZONE
from moselle_cin7.sandbox.records import (
    APPROVED_FLAG,
    B2B_PORTAL,
    ONLINE_PHONE,
    RETAIL_POS,
    SHOPIFY,
    VOID_FLAG,
    WHOLESALE,
    CompactSalesOrder,
    CompactStockRow,
    Customer,
    FormPicker,
    OptionInfo,
    SalesContext,
    StockContext,
)
from moselle_cin7.sandbox.timestamps import (
    TICKS_PER_DAY,
    TICKS_PER_SECOND,
    TIMESTAMP_FORMS,
    LocalClock,
)

logger = logging.getLogger(__name__)

TICKS_PER_MINUTE = 60 * TICKS_PER_SECOND
TICKS_PER_HOUR = 60 * TICKS_PER_MINUTE
AS_OF_LOCAL_SECONDS = 6 * 3600
DEMAND_DAYS = 56

DEFAULT_FORMS = ("Z7", "Z7", "Z7", "Z", "Z6", "offset7", "offset6", "offset5", "offset", "naive7")


@dataclass(frozen=True)
class ProfileSpec:
    """The size and the quirks of a generated account.

    Attributes:
        history_days: days of history, ending on ``today``.
        stock_branches: active branches that hold stock (3 or more): Auckland, Christchurch and
            the Online Store first, then the Wellington Store, then more.
        products: non-kit products; each has ``options_per_product`` options (min, max).
        kit_products: products sold as kits of other products' options.
        sales_orders_per_day: mean orders a day over all channels (weekends are quieter).
        lines_per_order: (min, max) lines an order has, before kit components.
        purchase_orders_per_week, transfers_per_month: mean creation rates.
        stale_open_purchase_orders: approved POs created 150-300 days ago, still not received.
        holding_side: which branch's Stock row shows in-transit transfer quantities.
        shopify_source: the ``source`` text of Shopify orders (None: only the reference tells).
        top_line_parent_id: ``parentId`` of lines that are not kit components (0 or None).
        timestamp_forms: names from ``TIMESTAMP_FORMS``; each timestamp field of each record is
            written in one of them (repeat a name to make it more frequent).
    """

    name: str
    history_days: int
    stock_branches: int
    products: int
    options_per_product: tuple[int, int]
    kit_products: int
    sales_orders_per_day: float
    lines_per_order: tuple[int, int]
    purchase_orders_per_week: float
    stale_open_purchase_orders: int
    transfers_per_month: float
    wholesale_customers: int = 30
    retail_customers: int = 300
    shopify_share: float = 0.35
    holding_side: Literal["source", "destination"] = "source"
    shopify_source: str | None = "Shopify"
    top_line_parent_id: int | None = 0
    timestamp_forms: tuple[str, ...] = DEFAULT_FORMS
    negative_stock_share: float = 0.02
    void_purge_days: int = 183

    def __post_init__(self) -> None:
        if self.stock_branches < 3:
            raise ValueError("stock_branches must be at least 3 (Auckland, Christchurch, Online)")
        if self.history_days < 1 or self.products < 1:
            raise ValueError("history_days and products must be positive")
        unknown = [name for name in self.timestamp_forms if name not in TIMESTAMP_FORMS]
        if unknown or not self.timestamp_forms:
            raise ValueError(f"unknown timestamp forms {unknown}; use {sorted(TIMESTAMP_FORMS)}")
        if self.holding_side not in ("source", "destination"):
            raise ValueError("holding_side must be 'source' or 'destination'")


PROFILES: dict[str, ProfileSpec] = {
    "tiny": ProfileSpec(
        name="tiny",
        history_days=60,
        stock_branches=3,
        products=4,
        options_per_product=(2, 3),
        kit_products=1,
        sales_orders_per_day=4,
        lines_per_order=(1, 3),
        purchase_orders_per_week=2,
        stale_open_purchase_orders=1,
        transfers_per_month=8,
        wholesale_customers=6,
        retail_customers=20,
    ),
    "small": ProfileSpec(
        name="small",
        history_days=400,
        stock_branches=4,
        products=40,
        options_per_product=(2, 4),
        kit_products=3,
        sales_orders_per_day=20,
        lines_per_order=(1, 4),
        purchase_orders_per_week=3,
        stale_open_purchase_orders=3,
        transfers_per_month=10,
    ),
    "medium": ProfileSpec(
        name="medium",
        history_days=365,
        stock_branches=10,
        products=740,
        options_per_product=(2, 4),
        kit_products=20,
        sales_orders_per_day=200,
        lines_per_order=(1, 5),
        purchase_orders_per_week=15,
        stale_open_purchase_orders=10,
        transfers_per_month=60,
        wholesale_customers=200,
        retail_customers=3000,
    ),
    "large": ProfileSpec(
        name="large",
        history_days=365,
        stock_branches=25,
        products=7350,
        options_per_product=(3, 3),
        kit_products=40,
        sales_orders_per_day=2080,
        lines_per_order=(3, 3),
        purchase_orders_per_week=56,
        stale_open_purchase_orders=30,
        transfers_per_month=200,
        wholesale_customers=1000,
        retail_customers=20000,
    ),
}


# ------------------------------------------------------------------------------ static content


@dataclass(frozen=True)
class BranchPlan:
    id: int
    name: str
    branch_type: str
    role: Literal["head_office", "warehouse", "store", "online", "allocation", "closed"]
    city: str
    postcode: str
    active: bool = True

    @property
    def holds_stock(self) -> bool:
        return self.active and self.role != "allocation"

    @property
    def dispatches(self) -> bool:
        """Whether purchase orders are received and transfers sent from here."""
        return self.role in ("head_office", "warehouse") and self.active


AUCKLAND = BranchPlan(3, "Auckland Warehouse", "Head Office", "head_office", "Auckland", "2013")
CHRISTCHURCH = BranchPlan(
    4, "Christchurch Warehouse", "Warehouse", "warehouse", "Christchurch", "8042"
)
WELLINGTON = BranchPlan(5, "Wellington Store", "Retail", "store", "Wellington", "6011")
ONLINE_STORE = BranchPlan(6, "Online Store", "Retail", "online", "Auckland", "2013")
ALLOCATION = BranchPlan(7, "Wholesale Allocation", "Allocation", "allocation", "Auckland", "2013")
CLOSED = BranchPlan(
    8, "Hamilton Warehouse (closed)", "Warehouse", "closed", "Hamilton", "3204", False
)

_MORE_CITIES = (
    ("Tauranga", "3110"),
    ("Dunedin", "9016"),
    ("Napier", "4110"),
    ("Nelson", "7010"),
    ("Palmerston North", "4410"),
    ("Rotorua", "3010"),
    ("New Plymouth", "4310"),
    ("Whangarei", "0110"),
    ("Invercargill", "9810"),
    ("Queenstown", "9300"),
    ("Gisborne", "4010"),
    ("Timaru", "7910"),
    ("Whanganui", "4500"),
    ("Blenheim", "7201"),
    ("Masterton", "5810"),
    ("Taupo", "3330"),
    ("Levin", "5510"),
    ("Ashburton", "7700"),
    ("Oamaru", "9400"),
    ("Porirua", "5022"),
    ("Hastings", "4122"),
    ("Greymouth", "7805"),
)

_CATALOGUE = (
    (
        "Apparel",
        "Tops",
        "AP",
        "apparel",
        ("Merino Crew Tee", "Linen Shirt", "Cotton Hoodie", "Rugby Jersey"),
    ),
    (
        "Apparel",
        "Accessories",
        "AC",
        "colour",
        ("Wool Beanie", "Canvas Cap", "Possum Scarf", "Knit Gloves"),
    ),
    (
        "Homewares",
        "Kitchen",
        "HK",
        "colour",
        ("Stoneware Mug", "Enamel Bowl", "Tea Towel", "Rimu Board"),
    ),
    (
        "Homewares",
        "Living",
        "HL",
        "colour",
        ("Wool Throw", "Soy Candle", "Cushion Cover", "Flax Basket"),
    ),
    ("Garden", "Tools", "GT", "single", ("Hand Trowel", "Pruning Shears", "Garden Kneeler")),
    ("Garden", "Planters", "GP", "size", ("Terracotta Planter", "Hanging Pot", "Seed Tray")),
    ("Footwear", "Socks", "FS", "apparel", ("Merino Socks", "Hiking Socks")),
)
_COLLECTIONS = ("Classic", "Coastal", "Alpine", "Harbour", "Kauri", "Tussock", "Urban", "Fiord")
_COLOURS = (
    ("Black", "BLK"),
    ("Navy", "NVY"),
    ("Forest", "FOR"),
    ("Sand", "SND"),
    ("Rust", "RST"),
    ("Grey", "GRY"),
    ("White", "WHT"),
)
_APPAREL_SIZES = ("S", "M", "L", "XL")
_PLAIN_SIZES = ("Small", "Medium", "Large")
_SUPPLIERS = (
    # (member id, company, currency, categories supplied)
    (601, "Southern Merino Mills Ltd", "NZD", ("Apparel", "Footwear")),
    (602, "Coastal Ceramics", "NZD", ("Homewares",)),
    (603, "Shenzhen Homeware Co.", "USD", ("Homewares", "Garden")),
    (604, "Aussie Garden Supply Pty", "AUD", ("Garden",)),
    (605, "O'Connell Knitwear", "NZD", ("Apparel",)),
)
_COMPANY_WORDS = (
    "Ponsonby",
    "Kowhai",
    "Harbourside",
    "Totara",
    "Seaside",
    "Riverbank",
    "Pohutukawa",
    "Summit",
    "Greenlane",
    "Karaka",
)
_COMPANY_KINDS = ("Gifts", "Homewares", "Outfitters", "Garden Centre", "Trading Co", "Boutique")
_FIRST_NAMES = ("Aroha", "James", "Mere", "Liam", "Olivia", "Wiremu", "Charlotte", "Noah", "Amelia")
_LAST_NAMES = ("Smith", "Ngata", "Wilson", "Brown", "Taylor", "Parata", "Williams", "Chen", "Patel")

SALES_STAGES = (
    "New",
    "Awaiting Payment",
    "Processing",
    "On Hold",
    "Release to Pick",
    "Fully Picked",
    "Declined",
    "Dispatched",
    "DISPATCHED",
    " dispatched ",
    "NEW",
    "On hold",
)
(
    _NEW,
    _AWAITING,
    _PROCESSING,
    _ON_HOLD,
    _RELEASE,
    _PICKED,
    _DECLINED,
    _DISPATCHED,
    _DISPATCHED_UPPER,
    _DISPATCHED_SPACED,
    _NEW_UPPER,
    _ON_HOLD_LOWER,
) = range(len(SALES_STAGES))
DISPATCHED_STAGES = frozenset({_DISPATCHED, _DISPATCHED_UPPER, _DISPATCHED_SPACED})
SALES_STATUSES = ("Draft", "DRAFT", "Approved", "APPROVED", "Void", "VOID")
_DRAFT, _DRAFT_UPPER, _APPROVED, _APPROVED_UPPER, _VOID, _VOID_UPPER = range(6)

# Scenarios forced onto the first order of recent days so even the tiny account shows each.
_SCENARIOS = (
    "dispatched_upper",
    "dispatched_spaced",
    "void_after_dispatch",
    "void_before_dispatch",
    "draft",
    "draft_upper",
    "on_hold",
    "awaiting_payment",
    "release_partial",
    "picked_partial",
    "processing",
    "new",
    "declined",
    "approved_upper",
    "kit",
    "shopify",
)


# ------------------------------------------------------------------------------ building blocks


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 40:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def _ean13(number: int) -> str:
    digits = f"94{number:010d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def _typed_seconds(rng: random.Random) -> int:
    """A time of day as people type it into Cin7 (whole minutes), in local time."""
    draw = rng.random()
    if draw < 0.30:
        return 0  # a date with no time: local midnight
    if draw < 0.37:
        return 86_400 - 60 * rng.randint(1, 20)  # minutes before midnight
    if draw < 0.42:
        return 60 * rng.randint(1, 20)  # minutes after midnight
    if draw < 0.55:
        return 60 * rng.randrange(1440)
    return 60 * rng.randint(8 * 60, 18 * 60)


class _Picker:
    """Weighted choice by cumulative weights; much faster than ``random.choices`` per call."""

    def __init__(self, items: list[Any], weights: list[float]) -> None:
        self.items = items
        self.cumulative = list(accumulate(weights))
        self.total = self.cumulative[-1] if self.cumulative else 0.0

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect_right(self.cumulative, rng.random() * self.total)]


@dataclass
class _Product:
    record: dict[str, Any]
    option_indexes: list[int]
    supplier_id: int
    is_kit: bool
    components: tuple[tuple[int, int], ...] = ()  # (option index, units per kit)


# ------------------------------------------------------------------------------ the generator


def generate_account(
    seed: int = 7,
    profile: str | ProfileSpec = "small",
    today: date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> SandboxAccount:
    """Build an account deterministically from (seed, profile, today, timezone).

    Args:
        seed: any integer; the same seed gives the same account.
        profile: a name from ``PROFILES`` or a ``ProfileSpec``.
        today: the account's local date the data ends on (at 06:00 local); default: today there.
        timezone: the IANA zone the account's users work in.
    """
    spec = PROFILES[profile] if isinstance(profile, str) else profile
    zone = ZoneInfo(timezone)
    if today is None:
        today = datetime.now(zone).date()
    started = time.perf_counter()
    account = _Generator(seed, spec, today, zone).build()
    logger.info(
        "generated the %r sandbox account (seed %s, %s, %s) in %.1f s",
        spec.name,
        seed,
        today.isoformat(),
        timezone,
        time.perf_counter() - started,
    )
    return account


class _Generator:
    def __init__(self, seed: int, spec: ProfileSpec, today: date, zone: ZoneInfo) -> None:
        self.seed = seed
        self.spec = spec
        self.today = today
        self.zone = zone
        self.clock = LocalClock(zone)
        self.forms = FormPicker(zone, tuple(TIMESTAMP_FORMS[name] for name in spec.timestamp_forms))
        self.as_of = self.clock.ticks(today, AS_OF_LOCAL_SECONDS)
        self.first_day = today - timedelta(days=spec.history_days - 1)
        self.purge_before = self.as_of - spec.void_purge_days * TICKS_PER_DAY
        self.branches = self._plan_branches()
        self.stock_branches = [branch for branch in self.branches if branch.holds_stock]
        self.closed_until = self.as_of - 200 * TICKS_PER_DAY
        # Last stock movement per (option index, branch id), for Stock.modifiedDate.
        self.last_movement: dict[tuple[int, int], int] = {}
        # Units dispatched per (option index, branch id) over the last DEMAND_DAYS, to size stock.
        self.recent_demand: dict[tuple[int, int], int] = defaultdict(int)
        self.demand_since = self.as_of - DEMAND_DAYS * TICKS_PER_DAY
        self.last_created: dict[str, int] = {}
        # What Stock must reflect, as (option index, branch id, quantity) per open line.
        self.open_sales_lines: list[tuple[int, int, int]] = []
        self.open_purchase_lines: list[tuple[int, int, int]] = []
        self.holding_lines: list[tuple[int, int, int]] = []

    def rng(self, section: str) -> random.Random:
        # One stream per section: changing one part of the generator leaves the others alone.
        return random.Random(f"moselle-sandbox:{self.seed}:{self.spec.name}:{section}")

    def text(self, ticks: int | None, record_id: int, field_no: int) -> str | None:
        return self.forms.text(ticks, record_id, field_no)

    def system_time(self, record_id: int, field_no: int, ticks: int) -> int:
        """A system-stamped instant, rounded to the precision of the form it is written in."""
        quantized = self.forms.quantize(ticks, record_id, field_no)
        assert quantized is not None
        return quantized

    def creation_time(self, endpoint: str, record_id: int, ticks: int) -> int:
        """``createdDate`` of a new record: rounded to its text form, and never before the
        previous record's, so ids keep growing with creation after the rounding."""
        previous = self.last_created.get(endpoint, 0)
        quantized = self.system_time(record_id, 0, max(ticks, previous))
        while quantized < previous:
            ticks += TICKS_PER_SECOND
            quantized = self.system_time(record_id, 0, ticks)
        self.last_created[endpoint] = quantized
        return quantized

    def typed(self, rng: random.Random, day: date) -> int:
        return self.clock.ticks(day, _typed_seconds(rng))

    def local_day(self, ticks: int) -> date:
        return self.clock.local_day(ticks)

    # -------------------------------------------------------------------------- branches

    def _plan_branches(self) -> list[BranchPlan]:
        count = self.spec.stock_branches
        branches = [AUCKLAND, CHRISTCHURCH, ONLINE_STORE]
        if count >= 4:
            branches.append(WELLINGTON)
        for position in range(count - len(branches)):
            city, postcode = _MORE_CITIES[position % len(_MORE_CITIES)]
            cycle = position // len(_MORE_CITIES)
            if cycle:
                city = f"{city} {cycle + 1}"
            if position % 3 == 2:
                plan = BranchPlan(
                    9 + position, f"{city} Warehouse", "Warehouse", "warehouse", city, postcode
                )
            else:
                plan = BranchPlan(9 + position, f"{city} Store", "Retail", "store", city, postcode)
            branches.append(plan)
        branches += [ALLOCATION, CLOSED]
        return sorted(branches, key=lambda branch: branch.id)

    def branch_records(self) -> list[dict[str, Any]]:
        rng = self.rng("branches")
        records = []
        for branch in self.branches:
            created = (
                self.as_of - rng.randint(900, 1500) * TICKS_PER_DAY + rng.randrange(TICKS_PER_DAY)
            )
            modified = created + rng.randint(0, 600) * TICKS_PER_DAY
            if branch.role == "closed":
                modified = self.closed_until + TICKS_PER_DAY
            modified = min(modified, self.as_of - TICKS_PER_HOUR)
            created = self.system_time(branch.id, 0, created)
            modified = self.system_time(branch.id, 1, modified)
            slug = branch.name.split()[0].lower()
            records.append(
                {
                    "id": branch.id,
                    "createdDate": self.text(created, branch.id, 0),
                    "modifiedDate": self.text(modified, branch.id, 1),
                    "isActive": branch.active,
                    "branchType": branch.branch_type,
                    "company": branch.name,
                    "firstName": None,
                    "lastName": None,
                    "email": f"{slug}@moselle.example",
                    "phone": f"+64 9 555 {branch.id:04d}",
                    "address1": f"{10 + branch.id} Kauri Street",
                    "address2": None,
                    "city": branch.city,
                    "state": None,
                    "postCode": branch.postcode,
                    "country": "New Zealand",
                }
            )
        return records

    # -------------------------------------------------------------------------- catalogue

    def _catalogue(self) -> tuple[list[_Product], list[OptionInfo], list[float]]:
        rng = self.rng("catalogue")
        spec = self.spec
        products: list[_Product] = []
        options: list[OptionInfo] = []
        popularity: list[float] = []
        width = max(4, len(str(spec.products)))
        counters: dict[str, int] = defaultdict(int)
        option_id = 100_001
        barcode = 1
        for number in range(spec.products):
            category, sub_category, prefix, variant, names = _CATALOGUE[number % len(_CATALOGUE)]
            round_no = number // len(_CATALOGUE)
            base = names[round_no % len(names)]
            series = round_no // len(names)
            if series:
                extra = _COLLECTIONS[series % len(_COLLECTIONS)]
                base = f"{base} {extra}" + (
                    f" {series // len(_COLLECTIONS) + 1}" if series >= 8 else ""
                )
            counters[prefix] += 1
            style = f"{prefix}{counters[prefix]:0{width}d}"
            product_id = 1001 + number
            supplier_id = next(s[0] for s in _SUPPLIERS if category in s[3])
            if category == "Apparel" and number % 5 == 4:
                supplier_id = 605
            low, high = spec.options_per_product
            wanted = 1 if variant == "single" else rng.randint(low, high)
            variants = self._variants(rng, variant, wanted)
            retail = round(rng.choice((9.9, 14.9, 19.9, 24.9, 39.9, 49.9, 69.9, 89.9, 129.0)), 2)
            product_weight = 1.0 / (1 + number) ** 0.7
            status = rng.choices(
                ("Public", "ShowInB2B", "Internal", "Inactive", "PUBLIC"), (80, 8, 4, 5, 3)
            )[0]
            created = (
                self.as_of - rng.randint(500, 1200) * TICKS_PER_DAY - rng.randrange(TICKS_PER_DAY)
            )
            indexes = []
            option_records = []
            for position, (option1, option2, size, suffix) in enumerate(variants):
                code = f"{style}-{suffix}" if suffix else style
                option_status = "Primary" if position == 0 else "Active"
                if position > 0 and rng.random() < 0.05:
                    option_status = "Disabled"
                info = OptionInfo(
                    product_id=product_id,
                    option_id=option_id,
                    code=code,
                    barcode=_ean13(barcode),
                    name=base,
                    option1=option1,
                    option2=option2,
                    option3=None,
                    size=size,
                    retail_price=retail,
                    wholesale_price=round(retail / 2, 2),
                    cost_price=round(retail * 0.3, 2),
                )
                sellable = status.casefold() != "inactive" and option_status != "Disabled"
                popularity.append(product_weight * rng.uniform(0.3, 1.0) if sellable else 0.0)
                indexes.append(len(options))
                options.append(info)
                option_records.append(self._option_record(info, option_status, created, rng))
                option_id += 1
                barcode += 1
            record = self._product_record(
                product_id,
                status,
                created,
                style,
                base,
                category,
                sub_category,
                supplier_id,
                "Order",
                option_records,
                rng,
            )
            products.append(_Product(record, indexes, supplier_id, False))

        sellable_components = [i for i, weight in enumerate(popularity) if weight > 0]
        for number in range(spec.kit_products):
            product_id = 1001 + spec.products + number
            count = 2 if number % 2 == 0 else 3
            chosen = sorted(
                {
                    sellable_components[(number * 7 + k * 5) % len(sellable_components)]
                    for k in range(count)
                }
            )
            components = tuple(
                (index, 1 + (k == 0 and number % 3 == 0)) for k, index in enumerate(chosen)
            )
            names = " & ".join(options[index].name.split()[-1] for index, _ in components)
            name = f"Gift Pack: {names}"
            retail = round(sum(options[i].retail_price * units for i, units in components) * 0.9, 2)
            style = f"KIT{number + 1:0{width}d}"
            created = self.as_of - rng.randint(400, 800) * TICKS_PER_DAY
            info = OptionInfo(
                product_id=product_id,
                option_id=option_id,
                code=style,
                barcode=_ean13(barcode),
                name=name,
                option1=None,
                option2=None,
                option3=None,
                size=None,
                retail_price=retail,
                wholesale_price=round(retail / 2, 2),
                cost_price=round(sum(options[i].cost_price * units for i, units in components), 2),
            )
            popularity.append(0.15 / (1 + number))
            option_record = self._option_record(info, "Primary", created, rng)
            record = self._product_record(
                product_id,
                "Public",
                created,
                style,
                name,
                "Gifts",
                "Gift Packs",
                601,
                "Kit",
                [option_record],
                rng,
            )
            products.append(_Product(record, [len(options)], 601, True, components))
            options.append(info)
            option_id += 1
            barcode += 1
        return products, options, popularity

    @staticmethod
    def _variants(
        rng: random.Random, variant: str, wanted: int
    ) -> list[tuple[str | None, str | None, str | None, str]]:
        """(option1, option2, size, SKU suffix) per option."""
        colours = list(_COLOURS)
        rng.shuffle(colours)
        if variant == "single":
            return [(None, None, None, "")]
        if variant == "size":
            return [(None, size, size, size[0]) for size in _PLAIN_SIZES[:wanted]]
        if variant == "colour":
            return [(colour, None, None, code) for colour, code in colours[:wanted]]
        combos = []
        for colour, code in colours:
            for size in _APPAREL_SIZES[1:3] if wanted <= 3 else _APPAREL_SIZES:
                combos.append((colour, size, size, f"{code}-{size}"))
        return combos[:wanted]

    def _option_record(
        self, info: OptionInfo, status: str, created: int, rng: random.Random
    ) -> dict[str, Any]:
        option_id = info.option_id
        created = self.system_time(option_id, 0, created + rng.randrange(TICKS_PER_HOUR))
        modified = created
        if rng.random() < 0.3:
            modified = self.as_of - rng.randrange(60 * TICKS_PER_DAY)
        modified = self.system_time(option_id, 1, max(created, modified))
        return {
            "id": option_id,
            "productId": info.product_id,
            "status": status,
            "code": info.code,
            "barcode": info.barcode,
            "productOptionCode": info.code,
            "productOptionBarcode": info.barcode,
            "supplierCode": f"SUP-{info.code}",
            "option1": info.option1,
            "option2": info.option2,
            "option3": info.option3,
            "size": info.size,
            "optionWeight": 0.25,
            "retailPrice": info.retail_price,
            "wholesalePrice": info.wholesale_price,
            "costPrice": info.cost_price,
            "stockAvailable": 0.0,
            "stockOnHand": 0.0,
            "priceColumns": {
                "Retail": info.retail_price,
                "Wholesale": info.wholesale_price,
                "Cost": info.cost_price,
                "RRP AUD": round(info.retail_price * 0.92, 2),
                "Special": None,
            },
            "createdDate": self.text(created, option_id, 0),
            "modifiedDate": self.text(modified, option_id, 1),
        }

    def _product_record(
        self,
        product_id: int,
        status: str,
        created: int,
        style: str,
        name: str,
        category: str,
        sub_category: str,
        supplier_id: int,
        order_type: str,
        option_records: list[dict[str, Any]],
        rng: random.Random,
    ) -> dict[str, Any]:
        created = self.system_time(product_id, 0, created)
        modified = created
        if rng.random() < 0.25:
            modified = self.as_of - rng.randrange(90 * TICKS_PER_DAY)
        modified = self.system_time(product_id, 1, max(created, modified))
        category_ids = {"Apparel": 11, "Homewares": 12, "Garden": 13, "Footwear": 14, "Gifts": 15}
        return {
            "id": product_id,
            "status": status,
            "createdDate": self.text(created, product_id, 0),
            "modifiedDate": self.text(modified, product_id, 1),
            "styleCode": style,
            "name": name,
            "description": f"{name} by Moselle.",
            "category": category,
            "subCategory": sub_category,
            "categoryIdArray": [category_ids[category], category_ids[category] * 10 + 1],
            "brand": "Moselle",
            "supplierId": supplier_id,
            "stockControl": "FIFO",
            "orderType": order_type,
            "weight": 0.5,
            "customFields": {
                "Season": rng.choice(("Core", "AW25", "SS25", "AW26")),
                "Material": None
                if category == "Garden"
                else rng.choice(("Merino", "Cotton", "Linen")),
            },
            "productOptions": option_records,
        }

    # -------------------------------------------------------------------------- customers

    def _customers(self) -> tuple[list[Customer], list[int], list[int], int]:
        """All contacts that buy, with the indexes of wholesale and retail ones and the walk-in."""
        rng = self.rng("customers")
        customers: list[Customer] = []
        wholesale = []
        for number in range(self.spec.wholesale_customers):
            if number == 0:
                company = "O'Brien's Garden Centre"
            else:
                word = _COMPANY_WORDS[number % len(_COMPANY_WORDS)]
                kind = _COMPANY_KINDS[(number // len(_COMPANY_WORDS)) % len(_COMPANY_KINDS)]
                company = f"{word} {kind}" + (f" {number // 60 + 1}" if number >= 60 else "")
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            city, postcode = rng.choice([(b.city, b.postcode) for b in self.branches])
            wholesale.append(len(customers))
            customers.append(
                Customer(
                    1001 + number,
                    first,
                    last,
                    company,
                    f"orders{number}@customer.example",
                    f"+64 21 {number:06d}",
                    f"{number + 1} Queen Street",
                    city,
                    postcode,
                    "20th of following month",
                )
            )
        walk_in = len(customers)
        customers.append(Customer(701, None, None, "Cash Sale", None, None, None, None, None, None))
        retail = []
        for number in range(self.spec.retail_customers):
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            city, postcode = rng.choice([(b.city, b.postcode) for b in self.branches])
            retail.append(len(customers))
            customers.append(
                Customer(
                    50_001 + number,
                    first,
                    last,
                    None,
                    f"{first.lower()}.{last.lower()}{number}@mail.example",
                    None,
                    f"{number % 200 + 1} Beach Road",
                    city,
                    postcode,
                    None,
                )
            )
        return customers, wholesale, retail, walk_in

    # -------------------------------------------------------------------------- sales orders

    def _sales_orders(
        self,
        options: list[OptionInfo],
        popularity: list[float],
        kits: dict[int, tuple[tuple[int, int], ...]],
    ) -> tuple[list[CompactSalesOrder], SalesContext]:
        spec = self.spec
        rng = self.rng("sales")
        customers, wholesale, retail, walk_in = self._customers()
        context = SalesContext(
            forms=self.forms,
            options=options,
            customers=customers,
            stages=SALES_STAGES,
            statuses=SALES_STATUSES,
            shopify_source=spec.shopify_source,
            top_line_parent_id=spec.top_line_parent_id,
        )
        sellable = [i for i, weight in enumerate(popularity) if weight > 0]
        picker = _Picker(sellable, [popularity[i] for i in sellable])
        kit_options = [i for i in kits if popularity[i] > 0]
        stores = [b.id for b in self.branches if b.role == "store"]
        dispatching = [b.id for b in self.branches if b.dispatches]
        warehouse_picker = _Picker(
            dispatching, [4.0 if b == AUCKLAND.id else 1.0 for b in dispatching]
        )
        channels = [WHOLESALE, B2B_PORTAL, SHOPIFY, RETAIL_POS, ONLINE_PHONE]
        pos_share = 0.15 if stores else 0.0
        channel_picker = _Picker(
            channels,
            [
                0.47 - spec.shopify_share / 2 - pos_share / 2,
                0.12,
                spec.shopify_share,
                pos_share,
                0.03,
            ],
        )
        numbers = {
            WHOLESALE: 10_001,
            B2B_PORTAL: 5_001,
            SHOPIFY: 1_001,
            RETAIL_POS: 1,
            ONLINE_PHONE: 10_001,
        }

        scenario_days = {
            self.today - timedelta(days=2 + position): name
            for position, name in enumerate(_SCENARIOS)
            if 2 + position < spec.history_days
        }
        orders: list[CompactSalesOrder] = []
        order_id = 100_001
        line_id = 1_000_001
        day = self.first_day
        while day <= self.today:
            weekday = (1.15, 1.1, 1.05, 1.05, 1.0, 0.8, 0.75)[day.weekday()]
            season = 1 + 0.2 * math.sin(2 * math.pi * (day.timetuple().tm_yday - 250) / 365)
            count = _poisson(rng, spec.sales_orders_per_day * weekday * season)
            drafts = []
            for _ in range(count):
                channel = channel_picker.pick(rng)
                seconds = self._order_seconds(rng, channel)
                created = self.clock.ticks(day, seconds) + rng.randrange(TICKS_PER_SECOND)
                if created < self.as_of:
                    drafts.append((created, channel))
            if day == self.today and not drafts and spec.sales_orders_per_day > 0:
                # The account always shows the night's Shopify orders on its last morning.
                created = self.clock.ticks(day, rng.randint(3600, 5 * 3600))
                drafts.append((created + rng.randrange(TICKS_PER_SECOND), SHOPIFY))
            drafts.sort()
            scenario = scenario_days.get(day)
            for position, (created, channel) in enumerate(drafts):
                forced = scenario if position == 0 else None
                if forced == "shopify":
                    channel = SHOPIFY
                elif forced is not None and channel == RETAIL_POS:
                    channel = WHOLESALE
                numbers[channel] += 1
                if channel == ONLINE_PHONE:
                    numbers[WHOLESALE] += 1
                    number = numbers[WHOLESALE]
                else:
                    number = numbers[channel]
                if channel in (WHOLESALE, B2B_PORTAL):
                    customer = wholesale[rng.randrange(len(wholesale))]
                    branch = warehouse_picker.pick(rng)
                    if created < self.closed_until and rng.random() < 0.12:
                        branch = CLOSED.id
                elif channel == RETAIL_POS:
                    customer = walk_in
                    branch = stores[rng.randrange(len(stores))]
                else:
                    customer = retail[rng.randrange(len(retail))]
                    branch = ONLINE_STORE.id
                order, line_id = self._sales_order(
                    rng,
                    context,
                    order_id,
                    number,
                    channel,
                    branch,
                    customer,
                    created,
                    line_id,
                    picker,
                    kit_options,
                    kits,
                    forced,
                )
                order_id += 1
                if order is not None:
                    orders.append(order)
            day += timedelta(days=1)
        return orders, context

    @staticmethod
    def _order_seconds(rng: random.Random, channel: int) -> int:
        if channel == SHOPIFY or (channel == B2B_PORTAL and rng.random() < 0.5):
            if rng.random() < 0.35:
                return rng.randrange(86_400)
            return int(rng.gauss(20.5 * 3600, 3 * 3600)) % 86_400
        if channel == RETAIL_POS:
            return rng.randint(9 * 3600, 17 * 3600 + 1800)
        return rng.randint(8 * 3600, 17 * 3600 + 1800)

    def _lines(
        self,
        rng: random.Random,
        channel: int,
        picker: _Picker,
        kit_options: list[int],
        kits: dict[int, tuple[tuple[int, int], ...]],
        force_kit: bool,
    ) -> list[list[int]]:
        low, high = self.spec.lines_per_order
        wanted = (
            rng.randint(low, high) if channel != SHOPIFY else rng.randint(low, max(low, high - 1))
        )
        chosen: list[int] = []
        if force_kit and kit_options:
            chosen.append(kit_options[0])
        attempts = 0
        while len(chosen) < wanted and attempts < wanted * 4:
            attempts += 1
            option = picker.pick(rng)
            if option not in chosen:
                chosen.append(option)
        lines: list[list[int]] = []
        for option in chosen:
            if channel in (WHOLESALE, B2B_PORTAL):
                qty = rng.choice((2, 4, 6, 6, 12, 12, 24, 48))
            elif channel == RETAIL_POS:
                qty = rng.choice((1, 1, 1, 2, 3))
            else:
                qty = rng.choice((1, 1, 1, 2, 2, 3))
            parent_position = len(lines)
            lines.append([option, qty, 0, -1])
            for component, units in kits.get(option, ()):
                lines.append([component, qty * units, 0, parent_position])
        return lines

    def _sales_order(
        self,
        rng: random.Random,
        context: SalesContext,
        order_id: int,
        number: int,
        channel: int,
        branch: int,
        customer: int,
        created: int,
        line_id: int,
        picker: _Picker,
        kit_options: list[int],
        kits: dict[int, tuple[tuple[int, int], ...]],
        forced: str | None,
    ) -> tuple[CompactSalesOrder | None, int]:
        """One order's life up to the as-of moment; ``None`` if it was voided and purged."""
        as_of = self.as_of
        lines = self._lines(rng, channel, picker, kit_options, kits, forced == "kit")
        created = self.creation_time("SalesOrders", order_id, created)
        created_day = self.local_day(created)
        events = [created + rng.randint(1, 20) * TICKS_PER_MINUTE]

        fate = rng.random()
        if forced in ("draft", "draft_upper"):
            fate_name = "draft"
        elif forced == "void_before_dispatch":
            fate_name = "void_before"
        elif forced in (
            "on_hold",
            "awaiting_payment",
            "declined",
            "release_partial",
            "picked_partial",
            "processing",
            "new",
        ):
            fate_name = "stuck"
        elif forced is not None:
            fate_name = "normal"
        else:
            recent = created > as_of - 14 * TICKS_PER_DAY
            draft_share = 0.08 if recent else 0.01
            if fate < draft_share:
                fate_name = "draft"
            elif fate < draft_share + 0.02:
                fate_name = "void_before"
            elif fate < draft_share + 0.03:
                fate_name = "stuck"
            else:
                fate_name = "normal"

        status = (
            _APPROVED_UPPER if (forced == "approved_upper" or rng.random() < 0.1) else _APPROVED
        )
        flags = APPROVED_FLAG
        stage = _NEW_UPPER if rng.random() < 0.1 else _NEW
        invoice: int | None = None
        dispatched: int | None = None

        if fate_name == "draft":
            status = _DRAFT_UPPER if (forced == "draft_upper" or rng.random() < 0.3) else _DRAFT
            flags = 0
        elif fate_name == "void_before":
            voided = created + rng.randint(2, 120) * TICKS_PER_HOUR
            if forced:
                voided = min(voided, as_of - TICKS_PER_HOUR)
            if voided < as_of:
                if voided < self.purge_before:
                    return None, line_id + len(lines)
                stage = rng.choice((_NEW, _AWAITING, _ON_HOLD))
                status = _VOID_UPPER if rng.random() < 0.2 else _VOID
                flags = (APPROVED_FLAG if rng.random() < 0.7 else 0) | VOID_FLAG
                events.append(voided)
            else:
                stage = _NEW
        elif fate_name == "stuck":
            stage = {
                "on_hold": _ON_HOLD,
                "awaiting_payment": _AWAITING,
                "declined": _DECLINED,
                "release_partial": _RELEASE,
                "picked_partial": _PICKED,
                "processing": _PROCESSING,
                "new": _NEW,
            }.get(forced or "", rng.choice((_ON_HOLD, _ON_HOLD_LOWER, _AWAITING, _DECLINED)))
            if forced in ("release_partial", "picked_partial"):
                self._ship_partly(rng, lines, force=True)
            if stage == _AWAITING and rng.random() < 0.5:
                invoice = self.typed(rng, created_day)
        else:
            dispatched, invoice = self._dispatch_times(rng, channel, created, created_day)
            if forced in ("dispatched_upper", "dispatched_spaced", "void_after_dispatch"):
                dispatched = min(dispatched, as_of - 2 * TICKS_PER_HOUR)
                invoice = min(invoice, dispatched) if invoice is not None else None
            if dispatched <= as_of:
                stage = _DISPATCHED
                draw = rng.random()
                if forced == "dispatched_upper" or (forced is None and draw < 0.12):
                    stage = _DISPATCHED_UPPER
                elif forced == "dispatched_spaced" or (forced is None and draw < 0.18):
                    stage = _DISPATCHED_SPACED
                for line in lines:
                    line[2] = line[1]
                events.append(dispatched)
                for line in lines:
                    self._moved(line[0], branch, dispatched)
                    if dispatched >= self.demand_since:
                        self.recent_demand[(line[0], branch)] += line[1]
                void_draw = rng.random()
                if forced == "void_after_dispatch" or (forced is None and void_draw < 0.008):
                    voided = dispatched + rng.randint(1, 30) * TICKS_PER_DAY
                    if forced:
                        voided = min(voided, as_of - TICKS_PER_HOUR)
                    if voided < as_of:
                        if voided < self.purge_before:
                            return None, line_id + len(lines)
                        status = _VOID_UPPER if rng.random() < 0.2 else _VOID
                        flags |= VOID_FLAG
                        events.append(voided)
                late_edit = dispatched + rng.randint(1, 200) * TICKS_PER_DAY
                if rng.random() < 0.015 and not flags & VOID_FLAG and late_edit < as_of:
                    # A late edit (a note, a tracking code) long after dispatch: it moves
                    # modifiedDate, possibly beyond a sync's lookback window.
                    events.append(late_edit)
            else:
                remaining = dispatched - as_of
                dispatched = None
                if remaining > 2 * TICKS_PER_DAY:
                    stage = rng.choice((_NEW, _AWAITING))
                else:
                    stage = rng.choice((_PROCESSING, _RELEASE, _PICKED))
                    if channel == SHOPIFY:
                        stage = _PROCESSING
                if stage in (_PROCESSING, _RELEASE, _PICKED) and rng.random() < 0.3:
                    self._ship_partly(rng, lines, force=False)
                if invoice is not None and (invoice > as_of or rng.random() < 0.5):
                    invoice = None

        if invoice is not None and invoice > as_of:
            invoice = None
        if invoice is not None:
            events.append(invoice)
        modified = max(events) + rng.randrange(30 * TICKS_PER_MINUTE)
        modified = min(modified, as_of - rng.randrange(1, TICKS_PER_MINUTE))
        modified = self.system_time(order_id, 1, max(modified, created))

        if flags & APPROVED_FLAG and not flags & VOID_FLAG and dispatched is None:
            for option, qty, shipped, _parent in lines:
                if option not in kits and qty > shipped:
                    self.open_sales_lines.append((option, branch, qty - shipped))

        flat = tuple(value for line in lines for value in line)
        order = CompactSalesOrder(
            context,
            order_id,
            number,
            channel,
            branch,
            customer,
            created,
            modified,
            invoice,
            dispatched,
            stage,
            status,
            flags,
            line_id,
            flat,
        )
        return order, line_id + len(lines)

    def _dispatch_times(
        self, rng: random.Random, channel: int, created: int, created_day: date
    ) -> tuple[int, int | None]:
        """When an order that runs normally is dispatched, and its invoice date."""
        if channel == RETAIL_POS:
            dispatched = created + rng.randint(1, 10) * TICKS_PER_MINUTE
            dispatched -= dispatched % TICKS_PER_MINUTE
            return dispatched, dispatched
        if channel == SHOPIFY:
            lead = rng.choice((0, 0, 1, 1, 1, 2, 3))
        else:
            lead = rng.choice((0, 1, 1, 2, 2, 3, 4, 6))
        dispatch_day = created_day + timedelta(days=lead)
        dispatched = self.typed(rng, dispatch_day)
        if dispatched < created:
            dispatched = created + rng.randint(30, 300) * TICKS_PER_MINUTE
            dispatched -= dispatched % TICKS_PER_MINUTE
        if channel == SHOPIFY:
            return dispatched, self.typed(rng, created_day)
        draw = rng.random()
        invoice_day = dispatch_day - timedelta(days=1) if 0.7 <= draw < 0.9 else dispatch_day
        if draw >= 0.9:
            invoice_day = created_day
        return dispatched, self.typed(rng, max(invoice_day, created_day))

    @staticmethod
    def _ship_partly(rng: random.Random, lines: list[list[int]], force: bool) -> None:
        """Ship part of an open order: qtyShipped below qty on at least one line."""
        candidates = [line for line in lines if line[1] >= 2 and line[3] < 0]
        if not candidates:
            if not force:
                return
            lines[0][1] = max(lines[0][1], 2)
            candidates = [lines[0]]
        line = candidates[rng.randrange(len(candidates))]
        line[2] = rng.randint(1, line[1] - 1)
        for other in lines:
            if other is not line and other[3] < 0 and rng.random() < 0.3:
                other[2] = other[1]

    def _moved(self, option: int, branch: int, ticks: int) -> None:
        key = (option, branch)
        if self.last_movement.get(key, 0) < ticks:
            self.last_movement[key] = ticks

    # -------------------------------------------------------------------------- purchase orders

    def _purchase_orders(
        self, products: list[_Product], options: list[OptionInfo]
    ) -> list[dict[str, Any]]:
        spec = self.spec
        rng = self.rng("purchases")
        by_supplier: dict[int, list[int]] = defaultdict(list)
        for product in products:
            if not product.is_kit:
                by_supplier[product.supplier_id].extend(product.option_indexes)
        suppliers = [s for s in _SUPPLIERS if by_supplier.get(s[0])]
        receiving = [b.id for b in self.branches if b.dispatches]
        plans: list[tuple[int, bool]] = []  # (created ticks, forced stale)
        day = self.first_day
        while day <= self.today:
            for _ in range(_poisson(rng, spec.purchase_orders_per_week / 7)):
                plans.append((self.clock.ticks(day, rng.randint(8 * 3600, 17 * 3600)), False))
            day += timedelta(days=1)
        stale_days = [d for d in range(150, 300) if d < spec.history_days]
        for number in range(spec.stale_open_purchase_orders if stale_days else 0):
            days_ago = stale_days[(number * 37) % len(stale_days)]
            stale_day = self.today - timedelta(days=days_ago)
            plans.append((self.clock.ticks(stale_day, rng.randint(8 * 3600, 17 * 3600)), True))
        plans = [plan for plan in plans if plan[0] < self.as_of]
        plans.sort()

        records = []
        line_id = 50_000_001
        for number, (created, stale) in enumerate(plans):
            po_id = 20_001 + number
            created += rng.randrange(TICKS_PER_SECOND)
            supplier_id, company, currency, _ = suppliers[rng.randrange(len(suppliers))]
            pool = by_supplier[supplier_id]
            branch = (
                receiving[0] if rng.random() < 0.7 else receiving[rng.randrange(len(receiving))]
            )
            count = min(len(pool), rng.randint(2, 8))
            chosen = rng.sample(pool, count)
            record, line_id = self._purchase_order(
                rng,
                po_id,
                created,
                stale,
                supplier_id,
                company,
                currency,
                branch,
                chosen,
                options,
                line_id,
            )
            if record is not None:
                records.append(record)
        return records

    def _purchase_order(
        self,
        rng: random.Random,
        po_id: int,
        created: int,
        stale: bool,
        supplier_id: int,
        company: str,
        currency: str,
        branch: int,
        chosen: list[int],
        options: list[OptionInfo],
        line_id: int,
    ) -> tuple[dict[str, Any] | None, int]:
        as_of = self.as_of
        created = self.creation_time("PurchaseOrders", po_id, created)
        created_day = self.local_day(created)
        quantities = [rng.choice((12, 24, 48, 96, 120, 240)) for _ in chosen]
        received = [0] * len(chosen)
        events = [created + rng.randint(5, 90) * TICKS_PER_MINUTE]
        recent = created > as_of - 21 * TICKS_PER_DAY
        draw = rng.random()
        status, approved, void = "Approved", True, False
        stage: str | None = "Ordered"
        if stale:
            draw = 1.0
        lead = rng.randint(14, 60)
        expected: int | None = self.clock.ticks(
            created_day + timedelta(days=lead), rng.choice((0, 0, 43_200))
        )
        if rng.random() < 0.12 or (stale and po_id % 2 == 0):
            expected = None
        fully_received: int | None = None
        invoice: int | None = None
        if draw < (0.3 if recent else 0.02):
            status, approved, stage = "Draft", False, "New"
            if rng.random() < 0.5:
                expected = None
        elif draw < (0.3 if recent else 0.02) + 0.04:
            voided = created + rng.randint(1, 20) * TICKS_PER_DAY
            if voided < as_of:
                if voided < self.purge_before:
                    return None, line_id + len(chosen)
                status, void = "Void", True
                events.append(voided)
        else:
            arrival_day = created_day + timedelta(days=lead + rng.randint(-3, 10))
            arrival = self.typed(rng, arrival_day)
            if stale:
                arrival = as_of + TICKS_PER_DAY
                if po_id % 3 == 0:
                    arrival = created + 30 * TICKS_PER_DAY
            if arrival <= as_of:
                partial = stale or rng.random() < 0.2
                completion = arrival + rng.randint(7, 40) * TICKS_PER_DAY if partial else arrival
                if stale:
                    completion = as_of + TICKS_PER_DAY
                if completion <= as_of:
                    received = list(quantities)
                    fully_received = completion
                    stage = "Received" if rng.random() < 0.85 else "RECEIVED"
                    events.append(completion)
                else:
                    received = [rng.choice((0, q // 2, q)) for q in quantities]
                    if not any(received):
                        received[0] = quantities[0] // 2
                    if received == quantities:
                        received[-1] = quantities[-1] // 2
                    stage = "Partially Received"
                    events.append(arrival)
                invoice = self.typed(rng, self.local_day(arrival))
                for option, amount in zip(chosen, received, strict=True):
                    if amount:
                        self._moved(option, branch, fully_received or arrival)
        if status == "Approved" and rng.random() < 0.15:
            status = "APPROVED"
        if status == "Draft" and rng.random() < 0.3:
            status = "DRAFT"
        if status == "Void" and rng.random() < 0.3:
            status = "VOID"
        if approved and not void and fully_received is None:
            for option, qty, got in zip(chosen, quantities, received, strict=True):
                if qty > got:
                    self.open_purchase_lines.append((option, branch, qty - got))

        modified = min(max(events) + rng.randrange(TICKS_PER_HOUR), as_of - TICKS_PER_MINUTE)
        modified = self.system_time(po_id, 1, max(modified, created))
        lines = []
        for position, (option, qty, got) in enumerate(
            zip(chosen, quantities, received, strict=True)
        ):
            info = options[option]
            lines.append(
                {
                    "id": line_id + position,
                    "transactionId": po_id,
                    "parentId": self.spec.top_line_parent_id,
                    "productId": info.product_id,
                    "productOptionId": info.option_id,
                    "integrationRef": None,
                    "sort": position + 1,
                    "code": info.code,
                    "name": info.name,
                    "option1": info.option1,
                    "option2": info.option2,
                    "option3": info.option3,
                    "qty": float(qty),
                    "qtyShipped": float(got),
                    "holdingQty": 0.0,
                    "unitCost": info.cost_price,
                    "unitPrice": info.cost_price,
                    "discount": 0.0,
                    "lineComments": None,
                }
            )
        product_total = round(sum(line["qty"] * line["unitPrice"] for line in lines), 2)
        freight = float(rng.choice((0, 45, 120, 350)))
        record = {
            "id": po_id,
            "createdDate": self.text(created, po_id, 0),
            "modifiedDate": self.text(modified, po_id, 1),
            "createdBy": 101,
            "processedBy": 101 if approved else 0,
            "isApproved": approved,
            "reference": f"PO-{2000 + po_id - 20_000}",
            "memberId": supplier_id,
            "firstName": None,
            "lastName": None,
            "company": company,
            "email": f"sales{supplier_id}@supplier.example",
            "phone": None,
            "deliveryFirstName": None,
            "deliveryLastName": None,
            "deliveryCompany": "Moselle",
            "deliveryAddress1": f"{10 + branch} Kauri Street",
            "deliveryAddress2": None,
            "deliveryCity": next(b.city for b in self.branches if b.id == branch),
            "deliveryState": None,
            "deliveryPostalCode": None,
            "deliveryCountry": "New Zealand",
            "internalComments": None,
            "customerOrderNo": None,
            "source": None,
            "branchId": branch,
            "distributionBranchId": 0,
            "currencyCode": currency,
            "currencyRate": {"NZD": 1.0, "AUD": 1.09, "USD": 0.6}[currency],
            "taxStatus": "Excl",
            "taxRate": 0.15 if currency == "NZD" else 0.0,
            "productTotal": product_total,
            "freightTotal": freight,
            "discountTotal": 0.0,
            "total": round((product_total + freight) * (1.15 if currency == "NZD" else 1.0), 2),
            "stage": stage,
            "status": status,
            "isVoid": void,
            "invoiceDate": self.text(invoice, po_id, 2),
            "invoiceNumber": None,
            "dispatchedDate": None,
            "cancellationDate": None,
            "paymentTerms": "30 days",
            "trackingCode": None,
            "customFields": {
                "Container": f"MSKU{po_id * 7 % 1_000_000:06d}" if currency != "NZD" else None,
                "Shipping Method": "Sea" if currency != "NZD" else "Road",
            },
            "supplierInvoiceReference": f"INV-{po_id}" if invoice is not None else None,
            "estimatedDeliveryDate": self.text(expected, po_id, 3),
            "estimatedArrivalDate": None,
            "fullyReceivedDate": self.text(fully_received, po_id, 4),
            "lineItems": lines,
        }
        return record, line_id + len(chosen)

    # -------------------------------------------------------------------------- transfers

    def _transfers(
        self, options: list[OptionInfo], popularity: list[float], kits: set[int]
    ) -> list[dict[str, Any]]:
        spec = self.spec
        rng = self.rng("transfers")
        sources = [b.id for b in self.branches if b.dispatches]
        destinations = [b.id for b in self.stock_branches]
        movable = [i for i, weight in enumerate(popularity) if weight > 0 and i not in kits]
        picker = _Picker(movable, [popularity[i] for i in movable])
        created_times = []
        day = self.first_day
        while day <= self.today:
            for _ in range(_poisson(rng, spec.transfers_per_month / 30)):
                created_times.append(self.clock.ticks(day, rng.randint(8 * 3600, 17 * 3600)))
            day += timedelta(days=1)
        # Each state shows up even in a short history: the last three are drafted, in transit
        # and received whatever the dice say.
        for days_ago, seconds in ((1, 10 * 3600), (3, 11 * 3600), (12, 9 * 3600)):
            if days_ago < spec.history_days:
                created_times.append(
                    self.clock.ticks(self.today - timedelta(days=days_ago), seconds)
                )
        created_times = sorted(t for t in created_times if t < self.as_of)
        forced_states = {
            self.clock.ticks(self.today - timedelta(days=1), 10 * 3600): "draft",
            self.clock.ticks(self.today - timedelta(days=3), 11 * 3600): "transit",
            self.clock.ticks(self.today - timedelta(days=12), 9 * 3600): "received",
        }

        records = []
        line_id = 60_000_001
        for number, created in enumerate(created_times):
            transfer_id = 40_001 + number
            forced = forced_states.get(created)
            source = AUCKLAND.id if rng.random() < 0.75 else sources[rng.randrange(len(sources))]
            targets = [b for b in destinations if b != source]
            destination = targets[rng.randrange(len(targets))]
            wanted = rng.randint(1, 6)
            chosen: list[int] = []
            for _ in range(wanted * 3):
                option = picker.pick(rng)
                if option not in chosen:
                    chosen.append(option)
                if len(chosen) == wanted:
                    break
            record = self._transfer(
                rng,
                transfer_id,
                created + rng.randrange(TICKS_PER_SECOND),
                source,
                destination,
                chosen,
                options,
                line_id,
                forced,
            )
            line_id += len(chosen)
            records.append(record)
        return records

    def _transfer(
        self,
        rng: random.Random,
        transfer_id: int,
        created: int,
        source: int,
        destination: int,
        chosen: list[int],
        options: list[OptionInfo],
        line_id: int,
        forced: str | None,
    ) -> dict[str, Any]:
        as_of = self.as_of
        created = self.creation_time("BranchTransfers", transfer_id, created)
        created_day = self.local_day(created)
        quantities = [rng.choice((2, 4, 6, 10, 12, 24)) for _ in chosen]
        events = [created + rng.randint(5, 60) * TICKS_PER_MINUTE]
        recent = created > as_of - 10 * TICKS_PER_DAY
        draft = forced == "draft" or (forced is None and rng.random() < (0.4 if recent else 0.03))
        approval: int | None = None
        dispatched: int | None = None
        received: int | None = None
        if not draft or rng.random() < 0.4:
            approval = created + rng.randint(10, 240) * TICKS_PER_MINUTE
        if not draft:
            dispatched = self.typed(rng, created_day + timedelta(days=rng.randint(0, 3)))
            dispatched = max(dispatched, created + TICKS_PER_HOUR)
            if forced in ("transit", "received"):
                dispatched = min(dispatched, as_of - 2 * TICKS_PER_HOUR)
            if dispatched > as_of:
                dispatched = None
                approval = approval if approval is not None and approval < as_of else None
        if dispatched is not None:
            cross_island = {source, destination} & {CHRISTCHURCH.id} and source != destination
            transit_days = rng.randint(1, 4) + (2 if cross_island else 0)
            received = self.typed(rng, self.local_day(dispatched) + timedelta(days=transit_days))
            received = max(received, dispatched + 4 * TICKS_PER_HOUR)
            if forced == "transit" or (forced is None and rng.random() < 0.04):
                received = None  # still on the road, or lost track of
            if forced == "received":
                received = min(received or as_of, as_of - TICKS_PER_HOUR)
            if received is not None and received > as_of:
                received = None
        if approval is not None:
            approval = min(approval, as_of - TICKS_PER_MINUTE)
            events.append(approval)
        if dispatched is not None:
            events.append(dispatched)
            for option in chosen:
                self._moved(option, source, dispatched)
        if received is not None:
            events.append(received)
            for option in chosen:
                self._moved(option, destination, received)
        elif dispatched is not None:
            holder = source if self.spec.holding_side == "source" else destination
            for option, qty in zip(chosen, quantities, strict=True):
                self.holding_lines.append((option, holder, qty))

        if received is not None:
            stage: str | None = rng.choice(("Received", "Received", "RECEIVED"))
        elif dispatched is not None:
            stage = rng.choice(("Dispatched", "In Transit", "DISPATCHED"))
        else:
            stage = rng.choice(("New", "New", None))
        modified = min(max(events) + rng.randrange(TICKS_PER_HOUR), as_of - TICKS_PER_MINUTE)
        modified = self.system_time(transfer_id, 1, max(modified, created))
        approval_ticks = (
            self.system_time(transfer_id, 2, approval) if approval is not None else None
        )
        moved = dispatched is not None
        lines = []
        for position, (option, qty) in enumerate(zip(chosen, quantities, strict=True)):
            info = options[option]
            lines.append(
                {
                    "id": line_id + position,
                    "transactionId": transfer_id,
                    "productId": info.product_id,
                    "productOptionId": info.option_id,
                    "sort": position + 1,
                    "code": info.code,
                    "name": info.name,
                    "option1": info.option1,
                    "option2": info.option2,
                    "option3": info.option3,
                    "qty": float(qty),
                    "qtyTransferred": float(qty) if moved else 0.0,
                }
            )
        return {
            "id": transfer_id,
            "reference": f"TR-{transfer_id - 40_000:05d}",
            "createdDate": self.text(created, transfer_id, 0),
            "modifiedDate": self.text(modified, transfer_id, 1),
            "createdBy": 101 + transfer_id % 3,
            "isApproved": approval is not None,
            "approvalDate": self.text(approval_ticks, transfer_id, 2),
            "sourceBranchId": source,
            "destinationBranchId": destination,
            "dispatchedDate": self.text(dispatched, transfer_id, 3),
            "receivedDate": self.text(received, transfer_id, 4),
            "stage": stage,
            "source": None,
            "internalComments": None,
            "customFields": {"Reason": rng.choice(("Restock", "Rebalance", "Promotion", None))},
            "lineItems": lines,
        }

    # -------------------------------------------------------------------------- stock

    def _stock(
        self, products: list[_Product], options: list[OptionInfo]
    ) -> tuple[list[CompactStockRow], StockContext]:
        spec = self.spec
        rng = self.rng("stock")
        context = StockContext(
            forms=self.forms,
            options=options,
            branch_names={b.id: b.name for b in self.branches},
            product_names={p.record["id"]: p.record["name"] for p in products},
        )
        open_sales: dict[tuple[int, int], int] = defaultdict(int)
        incoming: dict[tuple[int, int], int] = defaultdict(int)
        holding: dict[tuple[int, int], int] = defaultdict(int)
        for option, branch, qty in self.open_sales_lines:
            open_sales[(option, branch)] += qty
        for option, branch, qty in self.open_purchase_lines:
            incoming[(option, branch)] += qty
        for option, branch, qty in self.holding_lines:
            holding[(option, branch)] += qty
        kit_components = {p.option_indexes[0]: p.components for p in products if p.is_kit}
        fallback = self.as_of - 400 * TICKS_PER_DAY

        rows: list[CompactStockRow] = []
        on_hand: dict[tuple[int, int], int] = {}
        for branch in self.stock_branches:
            for option in range(len(options)):
                if option in kit_components:
                    continue
                key = (option, branch.id)
                daily_demand = self.recent_demand.get(key, 0) / DEMAND_DAYS
                draw = rng.random()
                if draw < spec.negative_stock_share:
                    quantity = -rng.randint(1, 6)  # oversold: Cin7 lets stock go negative
                elif draw < spec.negative_stock_share + 0.08:
                    quantity = 0
                else:
                    # Between one and eight weeks of cover, plus the open orders to fill.
                    cover_days = rng.uniform(7, 56)
                    quantity = int(daily_demand * cover_days) + open_sales[key] + rng.randint(0, 12)
                on_hand[key] = quantity
        if spec.negative_stock_share > 0 and min(on_hand.values(), default=0) >= 0:
            # Even a tiny account shows one oversold row, so every consumer meets the case.
            sellable = [o for o in range(len(options)) if o not in kit_components]
            on_hand[(sellable[-1], ONLINE_STORE.id)] = -2
        for branch in self.stock_branches:
            for option in range(len(options)):
                key = (option, branch.id)
                virtual = 0
                if option in kit_components:
                    buildable = [
                        max(0, on_hand[(c, branch.id)] - open_sales[(c, branch.id)]) // units
                        for c, units in kit_components[option]
                    ]
                    virtual = min(buildable) if buildable else 0
                modified = self.last_movement.get(
                    key, fallback + rng.randrange(300 * TICKS_PER_DAY)
                )
                seed = CompactStockRow.form_seed(options[option].option_id, branch.id)
                modified = self.forms.quantize(
                    min(modified + rng.randrange(TICKS_PER_MINUTE), self.as_of), seed, 0
                )
                rows.append(
                    CompactStockRow(
                        context,
                        option,
                        branch.id,
                        on_hand.get(key, 0),
                        open_sales[key] if option not in kit_components else 0,
                        incoming[key],
                        holding[key],
                        virtual,
                        modified,
                    )
                )
        return rows, context

    # -------------------------------------------------------------------------- assembly

    def build(self) -> SandboxAccount:
        products, options, popularity = self._catalogue()
        kits = {p.option_indexes[0]: p.components for p in products if p.is_kit}
        sales_orders, _ = self._sales_orders(options, popularity, kits)
        purchase_orders = self._purchase_orders(products, options)
        transfers = self._transfers(options, popularity, set(kits))
        stock_rows, _ = self._stock(products, options)

        totals_on_hand: dict[int, int] = defaultdict(int)
        totals_available: dict[int, int] = defaultdict(int)
        for row in stock_rows:
            totals_on_hand[row.option] += row.on_hand
            totals_available[row.option] += row.on_hand - row.open_sales
        option_index = {info.option_id: index for index, info in enumerate(options)}
        for product in products:
            for option in product.record["productOptions"]:
                index = option_index[option["id"]]
                option["stockOnHand"] = float(totals_on_hand[index])
                option["stockAvailable"] = float(totals_available[index])

        account = SandboxAccount(
            {
                "Branches": self.branch_records(),
                "Products": [product.record for product in products],
                "PurchaseOrders": purchase_orders,
                "BranchTransfers": transfers,
            },
            timezone=self.zone.key,
        )
        with account.lock:
            account.table("SalesOrders").put_compact(sales_orders)
            account.table("Stock").put_compact(stock_rows)
        return account
