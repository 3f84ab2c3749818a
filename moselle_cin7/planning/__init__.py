"""Planning computations: replenishment view, demand forecast, projected stock, stock outlook.

Pure functions of pandas frames, so they can be tested without a database or Dagster; the assets
read the model tables, call them, and write the four planning tables.
"""

from moselle_cin7.planning.forecast import build_demand_forecast
from moselle_cin7.planning.outlook import build_stock_outlook, top_stockout_risks
from moselle_cin7.planning.projection import build_projected_stock
from moselle_cin7.planning.replenishment import build_replenishment_orders

__all__ = [
    "build_demand_forecast",
    "build_projected_stock",
    "build_replenishment_orders",
    "build_stock_outlook",
    "top_stockout_risks",
]
