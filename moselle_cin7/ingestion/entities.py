"""What the sync reads from each Cin7 endpoint, and how a record finds its partition day."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from moselle_cin7.db import schema

# Only the fields the planning model, the checks and the settings can use are requested: a Cin7
# order carries about 80 header fields, and ``fields`` cuts the payload (and the time to page it).
_ORDER_HEADER = (
    "id", "reference", "createdDate", "modifiedDate", "invoiceDate", "dispatchedDate",
    "cancellationDate", "status", "stage", "isVoid", "isApproved", "branchId",
    "distributionBranchId", "memberId", "company", "source", "customerOrderNo", "currencyCode",
    "customFields",
)  # fmt: skip
SALES_ORDER_FIELDS = (
    *_ORDER_HEADER,
    "lineItems(id,transactionId,parentId,productId,productOptionId,code,name,qty,qtyShipped,"
    "unitPrice,sort)",
)
PURCHASE_ORDER_FIELDS = (
    *_ORDER_HEADER,
    "estimatedDeliveryDate", "estimatedArrivalDate", "fullyReceivedDate",
    "supplierInvoiceReference",
    "lineItems(id,transactionId,productId,productOptionId,code,name,qty,qtyShipped,unitPrice)",
)  # fmt: skip
PRODUCT_FIELDS = (
    "id", "status", "createdDate", "modifiedDate", "styleCode", "name", "category", "subCategory",
    "brand", "supplierId", "stockControl", "orderType", "customFields",
    "productOptions(id,productId,status,code,productOptionCode,barcode,productOptionBarcode,"
    "option1,option2,option3,size)",
)  # fmt: skip
STOCK_FIELDS = (
    "productId", "productOptionId", "code", "barcode", "branchId", "branchName", "productName",
    "option1", "option2", "option3", "size", "available", "stockOnHand", "openSales", "incoming",
    "virtual", "holding", "modifiedDate",
)  # fmt: skip


@dataclass(frozen=True)
class TransactionEntity:
    """A Cin7 transaction type, partitioned by the account-local day of ``date_field``."""

    name: str
    endpoint: str
    date_field: str
    raw_table: sa.Table
    fields: tuple[str, ...] | None
    description: str


SALES_ORDERS = TransactionEntity(
    name="sales_orders",
    endpoint="SalesOrders",
    date_field="invoiceDate",
    raw_table=schema.raw_sales_orders,
    fields=SALES_ORDER_FIELDS,
    description="Cin7 sales orders, partitioned by the account-local day of their invoiceDate.",
)
PURCHASE_ORDERS = TransactionEntity(
    name="purchase_orders",
    endpoint="PurchaseOrders",
    date_field="createdDate",
    raw_table=schema.raw_purchase_orders,
    fields=PURCHASE_ORDER_FIELDS,
    description="Cin7 purchase orders, partitioned by the account-local day of their createdDate.",
)
BRANCH_TRANSFERS = TransactionEntity(
    name="branch_transfers",
    endpoint="BranchTransfers",
    date_field="createdDate",
    raw_table=schema.raw_branch_transfers,
    # Transfers are small records; the whole record is cheaper than listing its fields.
    fields=None,
    description="Cin7 branch transfers, partitioned by the account-local day of their createdDate.",
)

TRANSACTION_ENTITIES = (SALES_ORDERS, PURCHASE_ORDERS, BRANCH_TRANSFERS)
