"""Snowball pricing: the product model and the trader API (``price``, ``fair_coupon``)."""
from pricing.api import fair_coupon, price
from pricing.product import Market, Snowball
from pricing.result import PriceResult

__all__ = ["Snowball", "Market", "price", "fair_coupon", "PriceResult"]
