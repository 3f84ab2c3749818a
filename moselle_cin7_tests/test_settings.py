"""Settings: defaults that fit the sandbox, and errors that name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from moselle_cin7.settings import Settings, SettingsError, load_settings_file, parse_settings


def test_defaults_need_no_file():
    settings = Settings()
    assert settings.account_timezone == "Pacific/Auckland"
    assert settings.lookback_days == 90
    assert settings.shopify_exclusion.enabled
    assert settings.channel_for({"branchId": 1}) == "Wholesale"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"account_timezone": "Mars/Olympus"}, "account_timezone: Value error, unknown IANA"),
        ({"lookback_days": 0}, "lookback_days: Input should be greater than or equal to 1"),
        ({"lookback_dayz": 30}, "lookback_dayz: Extra inputs are not permitted"),
        ({"planning": {"horizon_days": "soon"}}, "planning.horizon_days: Input should be a valid"),
        ({"channel_rules": [{"channel": "Web", "match": {"reference_pattern": "(["}}]},
         "channel_rules.0.match.reference_pattern"),
        ({"custom_fields": {"invoices": ["Region"]}}, "custom_fields: Value error, unknown entity"),
        ({"enabled_warehouses": "some"}, "enabled_warehouses"),
    ],
)  # fmt: skip
def test_errors_name_the_bad_key(raw, message):
    with pytest.raises(SettingsError) as error:
        parse_settings(raw, source="settings file test.yaml")
    assert message in str(error.value)
    assert "settings file test.yaml has invalid values" in str(error.value)


def test_file_errors_are_clear(tmp_path):
    with pytest.raises(SettingsError, match="cannot read settings file"):
        load_settings_file(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("lookback_days: [90\n")
    with pytest.raises(SettingsError, match="is not valid YAML"):
        load_settings_file(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(SettingsError, match="expected a mapping"):
        load_settings_file(listed)


def test_channel_rules_first_match_wins_and_text_ignores_case():
    settings = parse_settings(
        {
            "default_channel": "Trade",
            "channel_rules": [
                {"channel": "Marketplace", "match": {"sources": ["  TradeMe "]}},
                {"channel": "South", "match": {"branch_ids": [2], "reference_pattern": "^CH-"}},
            ],
        }
    )
    assert settings.channel_for({"source": "trademe", "branchId": 2}) == "Marketplace"
    assert settings.channel_for({"reference": "ch-0001", "branchId": 2}) == "South"
    assert settings.channel_for({"reference": "CH-0001", "branchId": 1}) == "Trade"


def test_shopify_rule_matches_any_condition():
    rule = parse_settings({"shopify_exclusion": {"branch_ids": [3]}}).shopify_exclusion
    assert rule.is_shopify({"source": "SHOPIFY "})
    assert rule.is_shopify({"reference": "#1050"})
    assert rule.is_shopify({"branchId": 3})
    assert not rule.is_shopify({"reference": "SO-1050", "source": "Web", "branchId": 1})


def test_enabled_warehouses_default_leaves_out_allocation_and_inactive():
    settings = Settings()
    assert settings.warehouse_enabled({"id": 1, "branchType": "Warehouse", "isActive": True})
    assert not settings.warehouse_enabled({"id": 4, "branchType": " allocation"})
    assert not settings.warehouse_enabled({"id": 5, "branchType": "Warehouse", "isActive": False})
    listed = parse_settings({"enabled_warehouses": [4]})
    assert listed.warehouse_enabled({"id": 4, "branchType": "Allocation"})
    assert not listed.warehouse_enabled({"id": 1})


def test_the_example_file_states_the_defaults():
    example = Path(__file__).parents[1] / "config" / "settings.example.yaml"
    assert load_settings_file(example) == Settings()
