"""The Slack adapter: a Bolt app at POST /slack/events and an outbox sender (see docs/slack.md)."""

from adapters.slack.contract import SLACK

__all__ = ["SLACK"]
