"""The home page section every member sees first: the groups they belong to and their role in each."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.messages import Field, Reply
from bot.core.registry import Registry
from storage.models import GroupKind

_KIND_LABEL = {
    GroupKind.BACKBONE: "backbone",
    GroupKind.STEERING: "steering committee",
    GroupKind.WORKING_GROUP: "working group",
    GroupKind.ADVISORY: "advisory",
}


def groups_and_roles(ctx: Context) -> list[Reply]:
    """"Your groups and roles": one line per group the member belongs to, with their role."""
    member = ctx.require_member()
    m = ctx.markup
    groups = sorted(ctx.groups.values(), key=lambda pair: pair[0].name.lower())
    if not groups:
        return [Reply(title="Your groups and roles",
                      sections=[m.escape("You are not in any group yet. Ask your backbone team to add you.")])]
    return [Reply(
        title="Your groups and roles",
        sections=[m.escape(f"{member.name}, {member.organization}" if member.organization else member.name)],
        fields=[Field(group.name, m.escape(f"{str(role).capitalize()} · {_KIND_LABEL[group.kind]}"))
                for group, role in groups],
    )]


def register(registry: Registry) -> None:
    """Add the groups-and-roles section to every member's home page."""
    registry.home(groups_and_roles)
