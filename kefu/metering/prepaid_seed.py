"""Starting prepaid gas tariffs (guide §6; shared/domain/policy-defaults.yaml ``tariffs``).

Tier prices are stored as published: a price notice gives each tier's price in yuan to the fen. Where
the source gives only tier 1 and the ratio 1 : 1.2 : 1.5, tiers 2 and 3 are tier 1 × ratio rounded
half-up to the fen — the way the 辽源 notice's own prices come out (2.84 → 3.41 → 4.26).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FEN = Decimal("0.01")
# The ratio of the national guideline for residential tiered gas (guide §6).
RATIO = (Decimal("1"), Decimal("1.2"), Decimal("1.5"))
DEFAULT_LIMITS = "单次购气上限: 无公开数据, 合理默认值 (per-purchase limits: no public figure; sensible default)"


def ratio_prices(tier1: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    p1, p2, p3 = ((tier1 * r).quantize(FEN, rounding=ROUND_HALF_UP) for r in RATIO)
    return p1, p2, p3


_LF = ratio_prices(Decimal("2.93"))

TARIFFS: list[dict[str, Any]] = [
    {
        "code": "LANGFANG-RES", "name": "廊坊 居民管道天然气 (阶梯, 每年11月1日起算)", "active": True,
        "effective_from": date(2000, 1, 1), "cycle_month": 11, "cycle_day": 1,
        "tier1_limit": Decimal("500"), "tier2_limit": Decimal("1200"),
        "heating_tier1_limit": Decimal("1200"), "heating_tier2_limit": Decimal("3000"),
        "tier1_price": _LF[0], "tier2_price": _LF[1], "tier3_price": _LF[2], "low_income_tier1": True,
        "source": "Langfang gas price notice (secondary source; policy-defaults.yaml): 500/1200 m³ a year from "
                  "1 Nov, ratio 1:1.2:1.5 on 2.93 (tiers 2-3 rounded to the fen), heating 1200/3000, low-income "
                  "pay tier 1; in force since: not in the source. " + DEFAULT_LIMITS,
    },
    {
        # An example for a company with calendar-year tiers: inactive until a unit is given to it.
        "code": "LIAOYUAN-RES", "name": "辽源 居民管道天然气 (阶梯, 每年1月1日起算)", "active": False,
        "effective_from": date(2000, 1, 1), "cycle_month": 1, "cycle_day": 1,
        "tier1_limit": Decimal("240"), "tier2_limit": Decimal("360"),
        "heating_tier1_limit": None, "heating_tier2_limit": None,
        "tier1_price": Decimal("2.84"), "tier2_price": Decimal("3.41"), "tier3_price": Decimal("4.26"),
        # The source says nothing of low-income households, so none is assumed.
        "low_income_tier1": False,
        "source": "Liaoyuan notice (secondary source; policy-defaults.yaml): 240/360 m³ a year, 2.84/3.41/4.26; "
                  "heating and low-income rules not in the source. " + DEFAULT_LIMITS,
    },
]


def prepaid_seed(*, tariff_model: Any) -> int:
    """Create the starting tariffs that are not there yet (by code); never overwrite edited rows."""
    created = 0
    for row in TARIFFS:
        data = dict(row)
        _obj, new = tariff_model.objects.get_or_create(code=data.pop("code"), defaults=data)
        created += int(new)
    return created
