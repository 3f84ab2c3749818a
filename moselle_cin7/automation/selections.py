"""Which assets each kind of sync run materializes.

A ranged run over past days can only re-read transactions: Cin7 keeps no history of stock or
products, so the snapshot assets belong only in a run that holds the newest complete day. The
planning outputs read whole tables, so they are rebuilt once, after every range of a sync is stored.
"""

from __future__ import annotations

import dagster as dg

from moselle_cin7.ingestion.assets import (
    RAW_GROUP,
    cin7_branches,
    cin7_products,
    cin7_stock,
    transaction_assets,
)
from moselle_cin7.ingestion.entities import TRANSACTION_ENTITIES, TransactionEntity
from moselle_cin7.mapping.assets import (
    MODEL_GROUP,
    inventory,
    products,
    purchase_orders,
    sales_order_lines,
    transfers,
    warehouses,
)

ALL_ENTITIES = "all"


def _name(asset: dg.AssetsDefinition) -> str:
    return asset.key.to_user_string()


# The raw asset of each transaction entity and the model asset mapped from it, by entity name.
ENTITY_ASSETS: dict[str, tuple[str, str]] = {
    entity.name: (_name(raw), _name(model))
    for entity, raw, model in zip(
        TRANSACTION_ENTITIES,
        transaction_assets,
        (sales_order_lines, purchase_orders, transfers),
        strict=True,
    )
}
ENTITIES_BY_NAME: dict[str, TransactionEntity] = {e.name: e for e in TRANSACTION_ENTITIES}

# Read in full (branches) or as today's closing snapshot (products, stock), then mapped.
SNAPSHOT_ASSETS: tuple[str, ...] = tuple(
    _name(asset)
    for asset in (cin7_branches, cin7_products, cin7_stock, warehouses, products, inventory)
)


def entity_names(choice: str) -> tuple[str, ...]:
    """The transaction entities named by a command-line choice (one name, or ``all``)."""
    if choice == ALL_ENTITIES:
        return tuple(ENTITY_ASSETS)
    if choice not in ENTITY_ASSETS:
        raise ValueError(f"unknown entity {choice!r}; expected one of {entity_choices()}")
    return (choice,)


def entity_choices() -> tuple[str, ...]:
    return (*ENTITY_ASSETS, ALL_ENTITIES)


def transaction_asset_keys(entities: tuple[str, ...]) -> tuple[str, ...]:
    """The raw and mapped assets of ``entities``, raw first."""
    return tuple(key for entity in entities for key in ENTITY_ASSETS[entity])


def planning_asset_keys(repository: dg.RepositoryDefinition) -> tuple[str, ...]:
    """Every materializable asset that is neither raw Cin7 data nor the mapped model.

    Found from the graph rather than listed, so planning and quality assets added later are
    rebuilt after a sync without touching this module.
    """
    selection = dg.AssetSelection.all() - dg.AssetSelection.groups(RAW_GROUP, MODEL_GROUP)
    keys = selection.resolve(repository.asset_graph)
    return tuple(sorted(key.to_user_string() for key in keys))


def planning_keys_of(repository: dg.RepositoryDefinition | None) -> tuple[str, ...]:
    """``planning_asset_keys`` of the evaluating repository, or of the project's definitions when
    a schedule or sensor is evaluated without one (a bare test context)."""
    if repository is None:
        from moselle_cin7.definitions import defs  # late: the definitions import this module

        repository = defs.get_repository_def()
    return planning_asset_keys(repository)
