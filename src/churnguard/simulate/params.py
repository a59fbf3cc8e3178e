"""Fixed vocabulary and rates of the simulated business.

Everything here is plain data: the regions, industries, owners, plans, products and the
rates of the monthly hazard model. :func:`churnguard.simulate.generate` records the
values it used in ``SimulatedBusiness.params``.

>>> len(SUB_REASON_CODES)
9
>>> SUB_REASON_CODES[REASON_INDEX["price"]]
'price'
"""

from __future__ import annotations

from churnguard.contract.reasons import SUB_REASONS

#: sub-reason codes in the order of the hazard components (one component per sub-reason)
SUB_REASON_CODES: tuple[str, ...] = tuple(SUB_REASONS)
MAIN_OF_SUB: tuple[str, ...] = tuple(SUB_REASONS[c].main for c in SUB_REASON_CODES)
REASON_INDEX: dict[str, int] = {c: i for i, c in enumerate(SUB_REASON_CODES)}
N_REASONS = len(SUB_REASON_CODES)

REGIONS = ("East China", "North China", "South China", "Tehran", "Isfahan", "Europe",
           "North America")
REGION_WEIGHTS = (0.22, 0.14, 0.13, 0.14, 0.08, 0.16, 0.13)
#: region group: 0 China, 1 Iran, 2 West (for owners, names and languages)
REGION_GROUP = (0, 0, 0, 1, 1, 2, 2)

LANGUAGES = ("en", "zh", "zh-Hant", "fa")
#: P(language | region), rows follow REGIONS, columns follow LANGUAGES
REGION_LANGUAGE = (
    (0.10, 0.84, 0.06, 0.00),
    (0.10, 0.88, 0.02, 0.00),
    (0.10, 0.55, 0.35, 0.00),
    (0.12, 0.00, 0.00, 0.88),
    (0.07, 0.00, 0.00, 0.93),
    (0.88, 0.05, 0.02, 0.05),
    (0.82, 0.08, 0.05, 0.05),
)

INDUSTRIES = ("retail", "manufacturing", "software", "education", "healthcare", "logistics",
              "finance", "hospitality")
INDUSTRY_WEIGHTS = (0.2, 0.16, 0.14, 0.1, 0.1, 0.12, 0.08, 0.1)

ACQ_CHANNELS = ("organic", "paid_search", "referral", "partner", "sales", "marketplace")
ACQ_WEIGHTS = (0.25, 0.2, 0.12, 0.1, 0.15, 0.18)
#: churn susceptibility multiplier per acquisition channel
ACQ_HAZARD = (1.0, 1.2, 0.8, 0.9, 0.85, 1.3)

OFFERS = ("none", "discount", "free_trial", "free_month", "cheap_plan")
#: P(offer | channel): rows follow ACQ_CHANNELS, columns follow OFFERS
CHANNEL_OFFER = (
    (0.55, 0.15, 0.15, 0.10, 0.05),
    (0.25, 0.15, 0.30, 0.15, 0.15),
    (0.70, 0.15, 0.05, 0.05, 0.05),
    (0.50, 0.30, 0.05, 0.05, 0.10),
    (0.60, 0.30, 0.05, 0.05, 0.00),
    (0.20, 0.30, 0.15, 0.10, 0.25),
)
#: susceptibility multiplier per first offer (after the first months) and in the first 3 months
OFFER_HAZARD = (1.0, 1.25, 1.5, 1.4, 1.6)
OFFER_HAZARD_EARLY = (1.0, 1.4, 3.0, 2.5, 2.0)
#: price-sensitivity multiplier per first offer
OFFER_PRICE_SENS = (1.0, 1.5, 1.3, 1.4, 1.8)

CONTRACTS = ("month-to-month", "annual", "two-year", "none")
CONTRACT_WEIGHTS = (0.34, 0.18, 0.06, 0.42)
CONTRACT_MONTHS = (1, 12, 24, 0)
#: susceptibility multiplier per contract type (renewal timing comes on top)
CONTRACT_HAZARD = (1.0, 0.85, 0.7, 1.0)

PLANS = ("Basic", "Standard", "Pro", "Enterprise", "pay-as-you-go")
PLAN_PRICE = (29.0, 79.0, 199.0, 599.0, 0.0)
PLAN_WEIGHTS = (0.38, 0.34, 0.2, 0.08)
ANNUAL_DISCOUNT = 0.85

LOYALTY_TIERS = ("", "bronze", "silver", "gold", "platinum")
LOYALTY_WEIGHTS = (0.6, 0.18, 0.12, 0.07, 0.03)
LOYALTY_HAZARD = (1.0, 0.85, 0.7, 0.55, 0.45)

#: sales / customer-success people by region group (China, Iran, West)
OWNERS: tuple[tuple[str, ...], ...] = (
    ("王芳", "李伟", "张敏", "刘洋", "陈静", "杨磊", "赵丽", "黄强", "周婷", "Bob Li",
     "Grace Zhang", "吴军"),
    ("Sara Ahmadi", "Reza Karimi", "مریم حسینی", "علی رضایی", "Neda Moradi",
     "Hossein Jafari", "زهرا محمدی", "Amir Tehrani", "Leila Sadeghi", "محمد کریمی"),
    ("Alice Smith", "John Miller", "Emma Brown", "David Wilson", "Olivia Garcia",
     "James Taylor", "Sophie Martin", "Lucas Müller", "Hannah Schmidt", "Michael Johnson",
     "Wei Chen"),
)

#: company-name fragments by region group: (first, second, suffix)
NAME_PARTS: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("杭州", "北京", "深圳", "上海", "广州", "南京", "苏州", "天津"),
     ("明达", "华通", "恒信", "远航", "嘉禾", "瑞丰", "星辰", "宏图"),
     ("科技有限公司", "贸易有限公司", "物流公司", "餐饮管理公司", "教育科技", "制造厂")),
    (("پارس", "آریا", "نوین", "سپهر", "البرز", "زاگرس", "مهر", "کوثر"),
     (" تجارت", " صنعت", " ارتباط", " گستر", " پویا", " سازه", " پخش", " فناوری"),
     (" (سهامی خاص)", " گروه", " شرکت", "", " و شرکا", " بازرگانی")),
    (("North", "Blue", "Summit", "Green", "Silver", "Bright", "Urban", "Pioneer"),
     ("wind", "field", "stone", "leaf", "line", "bridge", "path", "works"),
     (" Ltd", " GmbH", " Inc.", " Foods", " Logistics", " Labs")),
)

PRODUCTS = ("Starter kit", "Refill pack", "Premium bundle", "Gift card", "Accessory set",
            "Spare parts", "Service voucher", "Seasonal box", "Tea selection", "Office supplies",
            "Cleaning kit", "Device")
PRODUCT_WEIGHTS = (0.06, 0.2, 0.08, 0.05, 0.1, 0.1, 0.05, 0.08, 0.08, 0.1, 0.06, 0.04)
ADDONS = ("Extra seats", "Training session", "Premium support", "Data migration",
          "API call pack")
ADDON_PRICE = (120.0, 300.0, 450.0, 900.0, 80.0)
PROMOTIONS = ("SPRING10", "VIP5", "FREESHIP", "BUNDLE15", "NEWYEAR20", "DOUBLE11", "NOWRUZ")
ORDER_CHANNELS = ("store", "web", "app", "partner")

TICKET_CATEGORIES = ("billing", "bug", "how_to", "performance", "account", "integration",
                     "delivery", "refund")
#: P(category) for subscription and transactional customers
TICKET_CATEGORY_P = (
    (0.18, 0.25, 0.2, 0.12, 0.1, 0.15, 0.0, 0.0),
    (0.15, 0.05, 0.15, 0.0, 0.1, 0.0, 0.35, 0.2),
)
PRIORITIES = ("low", "normal", "high", "urgent")

#: monthly hazard constants of the nine components (see ``lifecycle.hazard_components``)
HAZARD = {
    "unprofitable": 0.05,
    "poor_service_per_complaint": 0.05,
    "product_gap_base": 0.004,
    "product_gap_engagement": 1.6,
    "value_engagement": 0.6,
    "over_marketing_per_email": 0.01,
    "no_personalisation_base": 0.0015,
    "no_personalisation_unfollowed": 0.035,
    "competitor_base": 0.001,
    "competitor_offer": 0.11,
    "price_base": 0.002,
    "price_increase": 0.09,
    "relocation": 0.55,
    "no_longer_needed_base": 0.0015,
    "no_longer_needed_step": 0.1,
    "annual_off_renewal": 0.04,
    "renewal_exponent": 0.5,
    "transactional_driver_scale": 0.5,
}
#: monthly probabilities of the latent driver events
EVENTS = {
    "competitor_offer": 0.01,
    "relocation": 0.0035,
    "need_ends": 0.0025,
    "service_problem": 0.02,
    "price_increase_individual": 0.005,
    "price_increase_wave_share": 0.5,
    "upgrade": 0.008,
    "downgrade": 0.006,
    "reactivation": 0.004,
}
