"""Web events: the brand's site and app."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.events.envelope import Currency, Envelope, Id, Money, Sku, Text, _Model


class _Web(Envelope):
    channel: Literal["web"] = "web"


class PageViewProps(_Model):
    title: Text | None = None


class ProductViewProps(_Model):
    sku: Sku
    price: Money | None = None
    currency: Currency | None = None


class SearchProps(_Model):
    query: Text


class AddToCartProps(_Model):
    sku: Sku
    quantity: int = Field(1, ge=1, le=10_000)
    price: Money | None = None


class CheckoutStartedProps(_Model):
    cart_value: Money
    currency: Currency


class OrderProps(_Model):
    order_id: Id
    revenue: Money
    currency: Currency
    skus: list[Sku] = Field(default_factory=list, max_length=500)


class AuthProps(_Model):
    method: Literal["password", "social", "magic_link", "sso"] = "password"


class PageView(_Web):
    type: Literal["page_view"] = "page_view"
    properties: PageViewProps = PageViewProps()


class ProductView(_Web):
    type: Literal["product_view"] = "product_view"
    properties: ProductViewProps


class Search(_Web):
    type: Literal["search"] = "search"
    properties: SearchProps


class AddToCart(_Web):
    type: Literal["add_to_cart"] = "add_to_cart"
    properties: AddToCartProps


class CheckoutStarted(_Web):
    type: Literal["checkout_started"] = "checkout_started"
    properties: CheckoutStartedProps


class OrderCompleted(_Web):
    type: Literal["order_completed"] = "order_completed"
    properties: OrderProps


class Signup(_Web):
    type: Literal["signup"] = "signup"
    properties: AuthProps = AuthProps()


class Login(_Web):
    type: Literal["login"] = "login"
    properties: AuthProps = AuthProps()


WEB_EVENTS = (PageView, ProductView, Search, AddToCart, CheckoutStarted, OrderCompleted, Signup, Login)
