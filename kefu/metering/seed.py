"""Default validation thresholds (guide §5; the zero-consumption rule from seed 002)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

MDM_PRACTICE = "计量数据管理常用校验 (guide §5: high/low against history, spike, zero, negative, estimates)"
SEED_002 = "燃气客服 (seed 002): 连续数月无用量须核查"
KEFU_DEFAULT = "无公开数据, 合理默认值 (no public figure; sensible default)"

# rule, factor, months, source
RULES: list[tuple[str, Decimal | None, int | None, str]] = [
    ("below_previous", None, None, MDM_PRACTICE),
    ("high_average", Decimal("3.00"), 6, KEFU_DEFAULT),
    ("high_last_year", Decimal("3.00"), None, KEFU_DEFAULT),
    ("zero", None, 3, SEED_002),
    ("duplicate", None, None, MDM_PRACTICE),
    ("missing", None, None, MDM_PRACTICE),
    ("meter_mismatch", None, None, MDM_PRACTICE),
    ("register_mismatch", None, None, MDM_PRACTICE),
    ("multiplier_change", None, None, MDM_PRACTICE),
    ("estimates", None, 2, KEFU_DEFAULT),
]


def metering_seed(*, rule_model: Any) -> int:
    created = 0
    for rule, factor, months, source in RULES:
        _obj, new = rule_model.objects.get_or_create(rule=rule, defaults={"factor": factor, "months": months,
                                                                         "source": source})
        created += int(new)
    return created


SEED_002_WINDOW = "燃气客服 (seed 002): 每月6日至26日抄表, 新户28日前编入抄表册"


def window_seed(*, window_model: Any) -> int:
    """The reading window of seed 002 for both utilities (no public figure for power: the same)."""
    created = 0
    for utility in ("power", "gas"):
        _obj, new = window_model.objects.get_or_create(
            utility=utility, defaults={"first_day": 6, "last_day": 26, "join_by_day": 28, "source": SEED_002_WINDOW})
        created += int(new)
    return created
