"""The demo's customers: a synthetic churn problem, generated in code and seeded, before and after the market moves.

Each customer has 24 features — 18 numbers (tenure, charges, support calls, usage, …) and 6 categories (plan,
region, payment method, contract, channel, device) — an ``event_time`` when they were observed, and ``churned``,
drawn from a logistic model of the features. A ``Market`` says how customers look and why they leave; the demo
starts in ``BEFORE`` and moves to ``AFTER``: a price rise, network trouble, a competitor in the south, more
monthly contracts and wallet payments (the features drift), and price and dropped calls now weigh far more on
churn while satisfaction weighs less (the concept drifts, so a model trained before gets worse).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

PLANS = ("basic", "standard", "premium", "family")
REGIONS = ("north", "south", "east", "west", "central")
PAYMENTS = ("card", "bank_transfer", "paypal", "invoice")
CONTRACTS = ("monthly", "annual", "two_year")
CHANNELS = ("web", "store", "partner")
DEVICES = ("android", "ios", "desktop")
PLAN_PRICE = {"basic": 30.0, "standard": 55.0, "premium": 85.0, "family": 110.0}

NUMERIC = (
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_calls",
    "late_payments",
    "data_usage_gb",
    "avg_session_minutes",
    "logins_per_week",
    "days_since_last_login",
    "discount_pct",
    "age",
    "referrals",
    "satisfaction",
    "dropped_calls",
    "streaming_hours",
    "devices",
    "outage_minutes",
    "email_opens",
)
CATEGORICAL = ("plan", "region", "payment_method", "contract", "channel", "device_os")
FEATURES = NUMERIC + CATEGORICAL
TIME = "event_time"
LABEL = "churned"
WEAK_FEATURES = ("tenure_months", "age", "devices")
"""The deliberately weak candidate's inputs: a quick baseline on three features, one of them useful."""


@dataclass(frozen=True)
class Market:
    """How customers look (the mixes and rates) and why they leave (the logistic model's weights)."""

    name: str
    plan: tuple[float, ...] = (0.35, 0.35, 0.2, 0.1)
    region: tuple[float, ...] = (0.25, 0.2, 0.2, 0.25, 0.1)
    payment: tuple[float, ...] = (0.45, 0.25, 0.15, 0.15)
    contract: tuple[float, ...] = (0.45, 0.35, 0.2)
    price_rise: float = 0.0
    support_rate: float = 1.2
    dropped_rate: float = 1.0
    usage_scale: float = 1.0
    outage_scale: float = 1.0
    intercept: float = -1.5
    weights: Mapping[str, float] = field(default_factory=dict)
    """Per numeric feature (centred), or ``column=value`` for a category."""


BEFORE = Market(
    "before",
    weights={
        "tenure_months": -0.05,
        "monthly_charges": 0.02,
        "support_calls": 0.45,
        "late_payments": 0.5,
        "satisfaction": -0.45,
        "days_since_last_login": 0.08,
        "discount_pct": -0.04,
        "referrals": -0.3,
        "dropped_calls": 0.1,
        "contract=monthly": 1.0,
        "contract=two_year": -1.2,
        "payment_method=invoice": 0.4,
        "payment_method=card": -0.2,
    },
)
AFTER = Market(
    "after",
    plan=(0.25, 0.3, 0.3, 0.15),
    region=(0.15, 0.4, 0.15, 0.2, 0.1),
    payment=(0.25, 0.2, 0.45, 0.1),
    contract=(0.65, 0.25, 0.1),
    price_rise=12.0,
    support_rate=1.8,
    dropped_rate=2.5,
    usage_scale=1.5,
    outage_scale=2.5,
    intercept=-3.0,
    weights={
        "tenure_months": -0.03,
        "monthly_charges": 0.06,
        "support_calls": 0.25,
        "late_payments": 0.4,
        "satisfaction": -0.1,
        "days_since_last_login": 0.05,
        "discount_pct": -0.08,
        "dropped_calls": 0.55,
        "streaming_hours": -0.06,
        "region=south": 1.3,
        "contract=monthly": 0.3,
        "payment_method=paypal": 0.5,
    },
)
_CENTRES = {
    "tenure_months": 24.0,
    "monthly_charges": 62.0,
    "support_calls": 1.5,
    "late_payments": 0.4,
    "satisfaction": 7.0,
    "days_since_last_login": 6.0,
    "discount_pct": 5.0,
    "referrals": 0.6,
    "dropped_calls": 1.0,
    "streaming_hours": 10.0,
}


def customers(
    rng: np.random.Generator, rows: int, market: Market, *, start_ms: int, end_ms: int, labels: bool = True
) -> pd.DataFrame:
    """``rows`` customers of ``market`` observed between ``start_ms`` and ``end_ms`` (oldest first)."""
    import pandas as pd

    n = rows
    plan = rng.choice(PLANS, n, p=market.plan)
    payment = rng.choice(PAYMENTS, n, p=market.payment)
    tenure = np.minimum(rng.gamma(2.0, 12.0, n), 72).round().astype(np.int64)
    monthly = np.array([PLAN_PRICE[p] for p in plan]) + rng.normal(0, 8, n) + market.price_rise
    monthly = monthly.clip(15).round(2)
    columns: dict[str, object] = {
        "tenure_months": tenure,
        "monthly_charges": monthly,
        "total_charges": (tenure * monthly * rng.uniform(0.9, 1.1, n)).round(2),
        "support_calls": rng.poisson(market.support_rate * np.where(plan == "basic", 1.4, 1.0)),
        "late_payments": rng.poisson(np.where(payment == "invoice", 0.7, 0.3)),
        "data_usage_gb": (rng.lognormal(np.log(8.0), 0.6, n) * market.usage_scale).round(2),
        "avg_session_minutes": rng.normal(25, 8, n).clip(1).round(1),
        "logins_per_week": rng.poisson(5, n),
        "days_since_last_login": rng.exponential(6.0, n).round(1),
        "discount_pct": rng.choice([0, 5, 10, 20], n, p=[0.55, 0.2, 0.15, 0.1]),
        "age": rng.normal(42, 13, n).clip(18, 85).round().astype(np.int64),
        "referrals": rng.poisson(0.6, n),
        "satisfaction": rng.normal(7, 1.8, n).clip(1, 10).round().astype(np.int64),
        "dropped_calls": rng.poisson(market.dropped_rate, n),
        "streaming_hours": rng.gamma(2.0, 5.0, n).round(1),
        "devices": 1 + rng.poisson(1.2, n),
        "outage_minutes": (rng.exponential(20.0, n) * market.outage_scale).round(1),
        "email_opens": rng.poisson(3, n),
        "plan": plan,
        "region": rng.choice(REGIONS, n, p=market.region),
        "payment_method": payment,
        "contract": rng.choice(CONTRACTS, n, p=market.contract),
        "channel": rng.choice(CHANNELS, n, p=(0.5, 0.3, 0.2)),
        "device_os": rng.choice(DEVICES, n, p=(0.45, 0.35, 0.2)),
    }
    frame = pd.DataFrame(columns)
    times = np.sort(rng.integers(start_ms, end_ms, n))
    frame[TIME] = pd.to_datetime(times, unit="ms", utc=True)
    if labels:
        frame[LABEL] = (rng.random(n) < churn_probability(frame, market)).astype(np.int64)
    return frame


def churn_probability(frame: pd.DataFrame, market: Market) -> np.ndarray:
    """The chance each customer leaves, in ``market``."""
    logit = np.full(len(frame), market.intercept)
    for name, weight in market.weights.items():
        column, _, value = name.partition("=")
        if value:
            logit += weight * (frame[column].to_numpy() == value)
        else:
            logit += weight * (frame[column].to_numpy(dtype=np.float64) - _CENTRES.get(column, 0.0))
    probability: np.ndarray = 1.0 / (1.0 + np.exp(-logit))
    return probability
