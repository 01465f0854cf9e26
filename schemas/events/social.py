"""Social events: the brand's pages and what customers do on them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.events.envelope import Currency, Envelope, Id, Money, SocialNetwork, Text, _Model


class _Social(Envelope):
    channel: Literal["social"] = "social"


class PostProps(_Model):
    post_id: Id
    network: SocialNetwork
    text: Text | None = None
    paid: bool = False
    spend: Money | None = None
    currency: Currency | None = None
    campaign: Id | None = None


class PostRef(_Model):
    post_id: Id
    network: SocialNetwork


class CommentProps(PostRef):
    comment_id: Id
    text: Text
    reply_to_id: Id | None = None


class MentionProps(_Model):
    network: SocialNetwork
    post_id: Id | None = None
    text: Text | None = None


class FollowProps(_Model):
    network: SocialNetwork


class QuestionProps(_Model):
    question_id: Id
    network: SocialNetwork
    text: Text


class BrandReplyProps(_Model):
    reply_id: Id
    reply_to_id: Id = Field(description="the question or comment answered")
    network: SocialNetwork
    text: Text
    satisfaction: int | None = Field(None, ge=1, le=5, description="rating the customer gave, if asked")


class PostPublished(_Social):
    type: Literal["post_published"] = "post_published"
    properties: PostProps


class Like(_Social):
    type: Literal["like"] = "like"
    properties: PostRef


class Comment(_Social):
    type: Literal["comment"] = "comment"
    properties: CommentProps


class Share(_Social):
    type: Literal["share"] = "share"
    properties: PostRef


class Mention(_Social):
    type: Literal["mention"] = "mention"
    properties: MentionProps


class Follow(_Social):
    type: Literal["follow"] = "follow"
    properties: FollowProps


class Question(_Social):
    type: Literal["question"] = "question"
    properties: QuestionProps


class BrandReply(_Social):
    type: Literal["brand_reply"] = "brand_reply"
    properties: BrandReplyProps


SOCIAL_EVENTS = (PostPublished, Like, Comment, Share, Mention, Follow, Question, BrandReply)
