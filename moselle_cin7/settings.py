"""Moselle's settings for one Cin7 Omni account: one YAML file, validated.

The file's path comes from ``MOSELLE_CIN7_SETTINGS``. Without it the defaults below apply, and they
describe the bundled sandbox account, so the demo needs no file at all. Every error names the key
that is wrong, so whoever edits the file can find the line.
"""

from __future__ import annotations

import os
import re
from datetime import date, time
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SETTINGS_ENV_VAR = "MOSELLE_CIN7_SETTINGS"

# The sandbox account lives in New Zealand on purpose: a UTC day and an Auckland day differ by 12-13
# hours, so bucketing business dates by the wrong day shows up in every test.
DEFAULT_TIMEZONE = "Pacific/Auckland"
DEFAULT_HISTORY_START = date(2025, 1, 1)

# Entities whose records carry ``customFields`` that can be copied into the planning model.
CUSTOM_FIELD_ENTITIES = ("products", "sales_orders", "purchase_orders", "branch_transfers")


class SettingsError(ValueError):
    """The settings file is missing, unreadable or holds a value that does not fit."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrderMatch(_Strict):
    """Conditions on a sales-order header; all given conditions must hold (AND).

    Text comparisons ignore case and surrounding spaces, as Cin7 is not consistent about either.
    """

    branch_ids: list[int] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    reference_pattern: str | None = None
    member_ids: list[int] = Field(default_factory=list)

    @field_validator("reference_pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"not a regular expression: {error}") from error
        return pattern

    def is_empty(self) -> bool:
        return not (self.branch_ids or self.sources or self.reference_pattern or self.member_ids)

    def matches(self, order: dict[str, Any]) -> bool:
        """Whether a sales-order header (camelCase keys, as Cin7 sends it) meets every condition."""
        if self.is_empty():
            return False
        if self.branch_ids and order.get("branchId") not in self.branch_ids:
            return False
        if self.member_ids and order.get("memberId") not in self.member_ids:
            return False
        if self.sources:
            source = str(order.get("source") or "").strip().casefold()
            if source not in {s.strip().casefold() for s in self.sources}:
                return False
        if self.reference_pattern:
            reference = str(order.get("reference") or "").strip()
            if not re.search(self.reference_pattern, reference, flags=re.IGNORECASE):
                return False
        return True


class ChannelRule(_Strict):
    """A sales channel given to the orders that match; the first matching rule wins."""

    channel: str = Field(min_length=1)
    match: OrderMatch


class ShopifyExclusion(_Strict):
    """How an order imported from Shopify is recognised.

    Cin7 documents no marker for it, so each account says which of its fields tells. An order is
    Shopify's when ANY of the listed conditions holds (each list is an OR of its own entries).
    """

    enabled: bool = True
    sources: list[str] = Field(default_factory=lambda: ["Shopify"])
    reference_pattern: str | None = r"^#\d+$"
    branch_ids: list[int] = Field(default_factory=list)

    @field_validator("reference_pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        return OrderMatch._compiles(pattern)

    def is_shopify(self, order: dict[str, Any]) -> bool:
        source = str(order.get("source") or "").strip().casefold()
        if source and source in {s.strip().casefold() for s in self.sources}:
            return True
        reference = str(order.get("reference") or "").strip()
        if self.reference_pattern and re.search(self.reference_pattern, reference):
            return True
        return bool(self.branch_ids) and order.get("branchId") in self.branch_ids


class PlanningSettings(_Strict):
    """How the forecast and the projected stock are computed."""

    horizon_days: int = Field(default=90, ge=1, le=730)
    forecast_window_days: int = Field(default=56, ge=7, le=730)
    # Weekly seasonality is used only when the window holds at least this many full weeks.
    seasonality_min_weeks: int = Field(default=4, ge=2, le=104)
    purchase_lead_time_days: int = Field(default=14, ge=0, le=365)
    transfer_transit_days: int = Field(default=3, ge=0, le=365)
    # Purchase orders and transfers closed longer ago than this stay out of the replenishment view.
    recent_closed_days: int = Field(default=30, ge=0, le=3650)


class QualitySettings(_Strict):
    """Thresholds of the data-quality checks."""

    freshness_hours: float = Field(default=26, gt=0)
    max_transit_days: int = Field(default=14, ge=1)
    # A day's dispatched units further than this many times from the trailing median is flagged.
    sales_anomaly_factor: float = Field(default=3.0, gt=1)
    sales_anomaly_window_days: int = Field(default=28, ge=7)


class ScheduleSettings(_Strict):
    """When the unattended daily sync runs, and how much of Cin7's API budget automation may use."""

    daily_sync_time: time = time(2, 0)
    # Ranged runs longer than this are split so that one bad day does not waste the whole range.
    chunk_days: int = Field(default=30, ge=1, le=3660)
    api_budget_share: float = Field(default=0.8, gt=0, le=1)
    sensor_interval_seconds: int = Field(default=3600, ge=60)
    # The change sensor re-reads this much before its cursor, as Cin7 stamps can arrive late.
    sensor_overlap_minutes: int = Field(default=60, ge=0)


def _default_channel_rules() -> list[ChannelRule]:
    # Point-of-sale and B2B-portal orders carry those words in Cin7's ``source``; everything else
    # (orders keyed in by staff) is wholesale.
    return [
        ChannelRule(channel="Retail", match=OrderMatch(sources=["POS"])),
        ChannelRule(channel="B2B Portal", match=OrderMatch(sources=["B2B"])),
    ]


class Settings(_Strict):
    """Everything that differs from one Cin7 account to another."""

    account_timezone: str = DEFAULT_TIMEZONE
    history_start: date = DEFAULT_HISTORY_START
    lookback_days: int = Field(default=90, ge=1, le=3660)
    # Branch ids whose stock is planned; ``all`` means every active branch that is not an
    # allocation branch (allocation branches hold no physical stock).
    enabled_warehouses: list[int] | Literal["all"] = "all"
    default_channel: str = Field(default="Wholesale", min_length=1)
    channel_rules: list[ChannelRule] = Field(default_factory=_default_channel_rules)
    shopify_exclusion: ShopifyExclusion = ShopifyExclusion()
    custom_fields: dict[str, list[str]] = Field(default_factory=dict)
    planning: PlanningSettings = PlanningSettings()
    quality: QualitySettings = QualitySettings()
    schedule: ScheduleSettings = ScheduleSettings()

    @field_validator("account_timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown IANA time zone {name!r}") from error
        return name

    @field_validator("custom_fields")
    @classmethod
    def _known_entities(cls, fields: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(fields) - set(CUSTOM_FIELD_ENTITIES))
        if unknown:
            raise ValueError(
                f"unknown entity {', '.join(unknown)}; expected one of {CUSTOM_FIELD_ENTITIES}"
            )
        return fields

    @model_validator(mode="after")
    def _history_not_in_future(self) -> Settings:
        if self.history_start > date(2100, 1, 1) or self.history_start < date(2000, 1, 1):
            raise ValueError("history_start must be a date between 2000 and 2100")
        return self

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.account_timezone)

    def warehouse_enabled(self, branch: dict[str, Any]) -> bool:
        """Whether a Cin7 branch record is one of the warehouses Moselle plans."""
        if self.enabled_warehouses != "all":
            return branch.get("id") in self.enabled_warehouses
        branch_type = str(branch.get("branchType") or "").strip().casefold()
        return branch.get("isActive") is not False and branch_type != "allocation"

    def channel_for(self, order: dict[str, Any]) -> str:
        for rule in self.channel_rules:
            if rule.match.matches(order):
                return rule.channel
        return self.default_channel


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"  {key}: {problem['msg']}")
    return "\n".join(lines)


def parse_settings(raw: Any, source: str = "settings") -> Settings:
    """Validate a mapping read from YAML; errors name every bad key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SettingsError(f"{source}: expected a mapping of keys at the top level")
    try:
        return Settings.model_validate(raw)
    except ValidationError as error:
        raise SettingsError(f"{source} has invalid values:\n{_describe(error)}") from None


def load_settings_file(path: str | Path) -> Settings:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(f"cannot read settings file {path}: {error.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SettingsError(f"settings file {path} is not valid YAML: {error}") from None
    return parse_settings(raw, source=f"settings file {path}")


@cache
def _load_cached(path: str | None) -> Settings:
    return load_settings_file(path) if path else Settings()


def load_settings() -> Settings:
    """The settings named by ``MOSELLE_CIN7_SETTINGS``, or the sandbox defaults."""
    return _load_cached(os.environ.get(SETTINGS_ENV_VAR) or None)
