"""Compact records: the generator's sales orders and stock rows, written out only when asked for.

A year of a large account holds about 730,000 sales orders and 460,000 stock rows; as plain dicts
they would need several gigabytes. Each compact record keeps a few integers and a pointer to a
shared context, and builds exactly the dict a plain record would hold when a page is answered.
The query engine reads the few header fields a filter or an order needs straight from the slots.

Every timestamp is kept as ticks already rounded to the text form it is written in, so a filter on
the ticks and a filter on the parsed text agree to the last digit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple
from zoneinfo import ZoneInfo

from moselle_cin7.sandbox.timestamps import TimestampForm


def mix(record_id: int, field_no: int) -> int:
    """A cheap, stable 32-bit hash of (record id, field number) used to vary text forms."""
    value = (record_id * 0x9E3779B1 + field_no * 0x85EBCA77 + 0x165667B1) & 0xFFFFFFFF
    value ^= value >> 15
    value = (value * 0x2C1B3C6D) & 0xFFFFFFFF
    value ^= value >> 12
    value = (value * 0x297A2D39) & 0xFFFFFFFF
    return value ^ (value >> 15)


class OptionInfo(NamedTuple):
    """What an order line or a stock row repeats about a product option."""

    product_id: int
    option_id: int
    code: str
    barcode: str
    name: str
    option1: str | None
    option2: str | None
    option3: str | None
    size: str | None
    retail_price: float
    wholesale_price: float
    cost_price: float


class Customer(NamedTuple):
    member_id: int
    first_name: str | None
    last_name: str | None
    company: str | None
    email: str | None
    phone: str | None
    address1: str | None
    city: str | None
    postal_code: str | None
    payment_terms: str | None


@dataclass
class FormPicker:
    """Chooses the text form of each timestamp field of each record, the same way every time."""

    timezone: ZoneInfo
    forms: tuple[TimestampForm, ...]

    def form(self, record_id: int, field_no: int) -> TimestampForm:
        return self.forms[mix(record_id, field_no) % len(self.forms)]

    def quantize(self, ticks: int | None, record_id: int, field_no: int) -> int | None:
        if ticks is None:
            return None
        return self.form(record_id, field_no).quantize(ticks)

    def text(self, ticks: int | None, record_id: int, field_no: int) -> str | None:
        if ticks is None:
            return None
        return self.form(record_id, field_no).format(ticks, self.timezone)


# Sales channels of generated orders; each has its reference prefix and `source` text.
WHOLESALE, B2B_PORTAL, SHOPIFY, RETAIL_POS, ONLINE_PHONE = range(5)

APPROVED_FLAG = 1
VOID_FLAG = 2


@dataclass
class SalesContext:
    """Everything compact sales orders share: the catalogue, customers and the text variants."""

    forms: FormPicker
    options: list[OptionInfo]
    customers: list[Customer]
    stages: tuple[str, ...]
    statuses: tuple[str, ...]
    shopify_source: str | None
    top_line_parent_id: int | None
    sales_reps: tuple[str, ...] = ("Aroha", "Ben", "Mere", "Tom")
    sources: dict[int, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sources = {
            WHOLESALE: None,
            B2B_PORTAL: "B2B",
            SHOPIFY: self.shopify_source,
            RETAIL_POS: "POS",
            ONLINE_PHONE: None,
        }


class CompactRecord:
    """A record kept compactly; ``materialize`` writes the full dict a client would receive."""

    __slots__ = ()
    ENDPOINT: ClassVar[str]
    DATE_FIELDS: ClassVar[dict[str, int]] = {}

    @property
    def key(self) -> Any:
        raise NotImplementedError

    def materialize(self) -> dict[str, Any]:
        raise NotImplementedError

    def value(self, field_name: str) -> Any:
        """One header field, as ``materialize()`` would hold it."""
        return self.materialize().get(field_name)

    def ticks(self, field_name: str) -> int | None:
        """A date field as ticks, or ``None`` when unset."""
        raise NotImplementedError


# Field numbers feed the form picker: each timestamp of a record may be written differently.
_CREATED, _MODIFIED, _INVOICE, _DISPATCHED = range(4)


class CompactSalesOrder(CompactRecord):
    """A sales order with its lines as a flat tuple: (option index, qty, shipped, parent position)
    per line, where the parent position is -1 for an ordinary line and the position of the kit
    line for a kit component."""

    __slots__ = (
        "branch_id",
        "channel",
        "created",
        "ctx",
        "customer",
        "dispatched",
        "first_line_id",
        "flags",
        "id",
        "invoice",
        "lines",
        "modified",
        "number",
        "stage",
        "status",
    )
    ENDPOINT = "SalesOrders"
    DATE_FIELDS = {
        "createdDate": _CREATED,
        "modifiedDate": _MODIFIED,
        "invoiceDate": _INVOICE,
        "dispatchedDate": _DISPATCHED,
    }

    def __init__(
        self,
        ctx: SalesContext,
        order_id: int,
        number: int,
        channel: int,
        branch_id: int,
        customer: int,
        created: int,
        modified: int,
        invoice: int | None,
        dispatched: int | None,
        stage: int,
        status: int,
        flags: int,
        first_line_id: int,
        lines: tuple[int, ...],
    ) -> None:
        self.ctx = ctx
        self.id = order_id
        self.number = number
        self.channel = channel
        self.branch_id = branch_id
        self.customer = customer
        self.created = created
        self.modified = modified
        self.invoice = invoice
        self.dispatched = dispatched
        self.stage = stage
        self.status = status
        self.flags = flags
        self.first_line_id = first_line_id
        self.lines = lines

    @property
    def key(self) -> int:
        return self.id

    def reference(self) -> str:
        number = self.number
        if self.channel == SHOPIFY:
            return f"#{number}"
        if self.channel == B2B_PORTAL:
            return f"B2B-{number}"
        if self.channel == RETAIL_POS:
            return f"POS-{number}"
        # A few hand-typed references carry characters that must be URL-encoded in a `where`.
        if number % 97 == 0:
            return f"SO-{number} 50%OFF"
        if number % 89 == 0:
            return f"SO-{number} O'NEILL"
        return f"SO-{number}"

    def ticks(self, field_name: str) -> int | None:
        if field_name == "modifiedDate":
            return self.modified
        if field_name == "createdDate":
            return self.created
        if field_name == "invoiceDate":
            return self.invoice
        if field_name == "dispatchedDate":
            return self.dispatched
        return None

    def value(self, field_name: str) -> Any:
        getter = _SALES_FAST_FIELDS.get(field_name)
        if getter is not None:
            return getter(self)
        return self.header().get(field_name)

    def _text(self, ticks: int | None, field_no: int) -> str | None:
        return self.ctx.forms.text(ticks, self.id, field_no)

    def header(self) -> dict[str, Any]:
        ctx = self.ctx
        customer = ctx.customers[self.customer]
        product_total = 0.0
        lines = self.lines
        for position in range(0, len(lines), 4):
            if lines[position + 3] < 0:
                product_total += lines[position + 1] * self._unit_price(lines[position])
        product_total = round(product_total, 2)
        freight = 0.0 if self.channel in (SHOPIFY, RETAIL_POS) else float(mix(self.id, 9) % 3 * 7.5)
        if self.channel == SHOPIFY and product_total < 100:
            freight = 8.0
        tax_rate = 0.15
        invoiced = self.invoice is not None
        rep = None if self.channel == SHOPIFY else ctx.sales_reps[mix(self.id, 7) % 4]
        return {
            "id": self.id,
            "createdDate": self._text(self.created, _CREATED),
            "modifiedDate": self._text(self.modified, _MODIFIED),
            "createdBy": 0 if self.channel == SHOPIFY else 101 + mix(self.id, 8) % 3,
            "processedBy": 0 if self.dispatched is None else 101 + mix(self.id, 6) % 3,
            "isApproved": bool(self.flags & APPROVED_FLAG),
            "reference": self.reference(),
            "memberId": customer.member_id,
            "firstName": customer.first_name,
            "lastName": customer.last_name,
            "company": customer.company,
            "email": customer.email,
            "phone": customer.phone,
            "deliveryFirstName": customer.first_name,
            "deliveryLastName": customer.last_name,
            "deliveryCompany": customer.company,
            "deliveryAddress1": customer.address1,
            "deliveryAddress2": None,
            "deliveryCity": customer.city,
            "deliveryState": None,
            "deliveryPostalCode": customer.postal_code,
            "deliveryCountry": "New Zealand",
            "internalComments": None,
            "customerOrderNo": (
                f"PO {self.number * 7 % 100000}"
                if self.channel in (WHOLESALE, B2B_PORTAL)
                else None
            ),
            "source": ctx.sources[self.channel],
            "branchId": self.branch_id,
            "distributionBranchId": 0,
            "currencyCode": "NZD",
            "currencyRate": 1.0,
            "taxStatus": "Excl",
            "taxRate": tax_rate,
            "productTotal": product_total,
            "freightTotal": freight,
            "discountTotal": 0.0,
            "total": round((product_total + freight) * (1 + tax_rate), 2),
            "stage": ctx.stages[self.stage],
            "status": ctx.statuses[self.status],
            "isVoid": bool(self.flags & VOID_FLAG),
            "invoiceDate": self._text(self.invoice, _INVOICE),
            "invoiceNumber": self.number if invoiced else None,
            "dispatchedDate": self._text(self.dispatched, _DISPATCHED),
            "cancellationDate": None,
            "paymentTerms": customer.payment_terms,
            "trackingCode": f"NZC{self.id:09d}" if self.dispatched is not None else None,
            "customFields": {
                "Sales Rep": rep,
                "Priority": "Urgent" if self.number % 23 == 0 else None,
            },
        }

    def _unit_price(self, option_index: int) -> float:
        option = self.ctx.options[option_index]
        if self.channel in (WHOLESALE, B2B_PORTAL):
            return option.wholesale_price
        return option.retail_price

    def line_items(self) -> list[dict[str, Any]]:
        ctx = self.ctx
        items = []
        lines = self.lines
        for position in range(0, len(lines), 4):
            option_index, qty, shipped, parent = lines[position : position + 4]
            option = ctx.options[option_index]
            is_component = parent >= 0
            items.append(
                {
                    "id": self.first_line_id + position // 4,
                    "transactionId": self.id,
                    "parentId": (
                        self.first_line_id + parent if is_component else ctx.top_line_parent_id
                    ),
                    "productId": option.product_id,
                    "productOptionId": option.option_id,
                    "integrationRef": None,
                    "sort": position // 4 + 1,
                    "code": option.code,
                    "name": option.name,
                    "option1": option.option1,
                    "option2": option.option2,
                    "option3": option.option3,
                    "qty": float(qty),
                    "qtyShipped": float(shipped),
                    "holdingQty": 0.0,
                    "unitCost": option.cost_price,
                    "unitPrice": 0.0 if is_component else self._unit_price(option_index),
                    "discount": 0.0,
                    "lineComments": None,
                }
            )
        return items

    def materialize(self) -> dict[str, Any]:
        record = self.header()
        record["lineItems"] = self.line_items()
        return record


_SALES_FAST_FIELDS = {
    "id": lambda order: order.id,
    "branchId": lambda order: order.branch_id,
    "distributionBranchId": lambda order: 0,
    "memberId": lambda order: order.ctx.customers[order.customer].member_id,
    "reference": CompactSalesOrder.reference,
    "source": lambda order: order.ctx.sources[order.channel],
    "stage": lambda order: order.ctx.stages[order.stage],
    "status": lambda order: order.ctx.statuses[order.status],
    "isVoid": lambda order: bool(order.flags & VOID_FLAG),
    "isApproved": lambda order: bool(order.flags & APPROVED_FLAG),
    "company": lambda order: order.ctx.customers[order.customer].company,
    "createdDate": lambda order: order._text(order.created, _CREATED),
    "modifiedDate": lambda order: order._text(order.modified, _MODIFIED),
    "invoiceDate": lambda order: order._text(order.invoice, _INVOICE),
    "dispatchedDate": lambda order: order._text(order.dispatched, _DISPATCHED),
    "invoiceNumber": lambda order: order.number if order.invoice is not None else None,
    "cancellationDate": lambda order: None,
}


@dataclass
class StockContext:
    forms: FormPicker
    options: list[OptionInfo]
    branch_names: dict[int, str]
    product_names: dict[int, str]


class CompactStockRow(CompactRecord):
    """One option at one branch. Quantities are whole units, written as decimals (``2.0``)."""

    __slots__ = (
        "branch_id",
        "ctx",
        "holding",
        "incoming",
        "modified",
        "on_hand",
        "open_sales",
        "option",
        "virtual",
    )
    ENDPOINT = "Stock"
    DATE_FIELDS = {"modifiedDate": 0}

    def __init__(
        self,
        ctx: StockContext,
        option: int,
        branch_id: int,
        on_hand: int,
        open_sales: int,
        incoming: int,
        holding: int,
        virtual: int,
        modified: int,
    ) -> None:
        self.ctx = ctx
        self.option = option
        self.branch_id = branch_id
        self.on_hand = on_hand
        self.open_sales = open_sales
        self.incoming = incoming
        self.holding = holding
        self.virtual = virtual
        self.modified = modified

    @property
    def key(self) -> tuple[int, int]:
        return (self.ctx.options[self.option].option_id, self.branch_id)

    @staticmethod
    def form_seed(option_id: int, branch_id: int) -> int:
        return option_id * 64 + branch_id

    def ticks(self, field_name: str) -> int | None:
        return self.modified if field_name == "modifiedDate" else None

    def value(self, field_name: str) -> Any:
        getter = _STOCK_FAST_FIELDS.get(field_name)
        if getter is not None:
            return getter(self)
        return self.materialize().get(field_name)

    def materialize(self) -> dict[str, Any]:
        ctx = self.ctx
        option = ctx.options[self.option]
        seed = self.form_seed(option.option_id, self.branch_id)
        return {
            "productId": option.product_id,
            "productOptionId": option.option_id,
            "code": option.code,
            "barcode": option.barcode,
            "branchId": self.branch_id,
            "branchName": ctx.branch_names[self.branch_id],
            "productName": ctx.product_names[option.product_id],
            "option1": option.option1,
            "option2": option.option2,
            "option3": option.option3,
            "size": option.size,
            "available": float(self.on_hand - self.open_sales),
            "stockOnHand": float(self.on_hand),
            "openSales": float(self.open_sales),
            "incoming": float(self.incoming),
            "virtual": float(self.virtual),
            "holding": float(self.holding),
            "modifiedDate": ctx.forms.text(self.modified, seed, 0),
        }


_STOCK_FAST_FIELDS = {
    "branchId": lambda row: row.branch_id,
    "productOptionId": lambda row: row.ctx.options[row.option].option_id,
    "productId": lambda row: row.ctx.options[row.option].product_id,
    "code": lambda row: row.ctx.options[row.option].code,
    "stockOnHand": lambda row: float(row.on_hand),
    "openSales": lambda row: float(row.open_sales),
    "available": lambda row: float(row.on_hand - row.open_sales),
    "incoming": lambda row: float(row.incoming),
    "holding": lambda row: float(row.holding),
    "virtual": lambda row: float(row.virtual),
}
