"""How the core sees a platform: its name and how people and teams are addressed on it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlatformInfo:
    """What the core needs to know of a platform to reach people and teams on it.

    `name` is the platform's name everywhere in storage: outbox rows, conversation references,
    platform ids (`PlatformId`), conversation states, `Inbound.platform`, `Item.source`.

    `person_keys` are the org-file keys on a person that hold this platform's user ids, the
    preferred one first (Teams: `teams`, then `teams_aad`); `channel_key` is the key under a
    team's `channels:` (None: the platform has no team channels in the org file). Both are
    stored as `PlatformId` rows keyed by that org-file key.

    `native_ids`: the platform addresses people and teams by their Looplink ids (the local
    playground); it reaches everyone, needs no platform ids, and its events' user ids are
    person ids and its channel ids team ids.

    `workspace_key`: the key under the org file's `workspaces:` that declares one of the
    organisation's own workspaces (or tenants) on this platform, whose id must match
    `workspace_pattern` (`workspace_label` and `workspace_example` are for error messages and
    exports). A platform with workspaces keeps every user and channel id inside one: an
    identity is (platform, workspace, user id), and an event from a workspace the organisation
    did not declare is a stranger's (bot/identity.py). None: the platform is one space, with
    nothing to declare.
    """

    name: str
    label: str
    person_keys: tuple[str, ...] = ()
    channel_key: str | None = None
    native_ids: bool = False
    workspace_key: str | None = None
    workspace_label: str = "workspace"
    workspace_pattern: str = r"^\S{1,64}$"
    workspace_example: str = ""
