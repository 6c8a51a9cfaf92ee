"""Who may do what: the core's access check and the permission matrix made from the registry.

Every command declares one `Access` level where it is registered. `check` is what the
core runs before a handler; `allowed` says, for each kind of person, what the level
means when the command is about the steering committee; `matrix` prints that for every
command, as the README shows it (``cibot permissions`` prints it).
"""

from __future__ import annotations

from enum import StrEnum

from bot.core.context import Context, unbound_hint
from bot.core.errors import NotAllowed, NotRegistered
from bot.core.registry import Access, Registry
from storage.models import GroupKind, Role


class Who(StrEnum):
    """The kinds of people in the matrix, each asking in the steering committee's channel."""

    BACKBONE = "backbone staff"
    CHAIR = "steering chair"
    MEMBER = "steering member"
    OBSERVER = "steering observer"
    OTHER_GROUP = "member of another group"
    OUTSIDER = "not a member"


_ALLOWED: dict[Access, frozenset[Who]] = {
    Access.ANYONE: frozenset(Who),
    Access.MEMBER: frozenset(Who) - {Who.OUTSIDER},
    Access.IN_GROUP: frozenset({Who.BACKBONE, Who.CHAIR, Who.MEMBER, Who.OBSERVER}),
    Access.ACT: frozenset({Who.BACKBONE, Who.CHAIR, Who.MEMBER, Who.OTHER_GROUP}),
    Access.GROUP: frozenset({Who.BACKBONE, Who.CHAIR, Who.MEMBER}),
    Access.VOTER: frozenset({Who.CHAIR, Who.MEMBER}),  # backbone staff vote only where they are members
    Access.STEERING: frozenset({Who.BACKBONE, Who.CHAIR, Who.MEMBER}),
    Access.CHAIR: frozenset({Who.BACKBONE, Who.CHAIR}),
    Access.BACKBONE: frozenset({Who.BACKBONE}),
}

_REFUSALS = {
    Access.ACT: "Observers follow the initiative but do not act in it; ask a member of the group to do this.",
    Access.GROUP: "Only members of the group (not observers) and backbone staff can do that.",
    Access.STEERING: "Only backbone staff and steering committee members (not observers) can do that.",
    Access.BACKBONE: "Only backbone staff can do that. Ask your backbone team if it needs doing.",
}


def allowed(access: Access, who: Who) -> bool:
    """Whether `who`, asking about the steering committee, may use a command declared `access`."""
    return who in _ALLOWED[access]


def permits(ctx: Context, access: Access) -> bool:
    """Whether the core lets the caller of `ctx` past `access` (the handler may still check the group)."""
    if access == Access.ANYONE:
        return ctx.initiative is not None
    if ctx.member is None:
        return False
    if access in (Access.MEMBER, Access.IN_GROUP, Access.VOTER, Access.CHAIR):
        return True  # who votes or chairs in the group is the handler's check: it names the group and its rule
    if ctx.is_backbone():
        return True
    roles = {(group.kind, role) for group, role in ctx.groups.values()}
    if access == Access.BACKBONE:
        return False
    if access == Access.STEERING:
        return any(kind == GroupKind.STEERING and role != Role.OBSERVER for kind, role in roles)
    return any(role != Role.OBSERVER for _, role in roles)  # ACT, GROUP (the handler checks the group)


def check(ctx: Context, access: Access) -> None:
    """Refuse the caller of `ctx` with a reply saying who may, unless `permits` lets them past."""
    if permits(ctx, access):
        return
    if ctx.initiative is None and access == Access.ANYONE and ctx.origin.channel_id and not ctx.elsewhere:
        raise NotRegistered(unbound_hint(ctx.origin))
    if ctx.member is None:
        raise ctx.not_registered()
    raise NotAllowed(_REFUSALS[access])


def matrix(registry: Registry) -> str:
    """Every command's rule for every kind of person, as a Markdown table."""
    header = "| command | " + " | ".join(who.value for who in Who) + " |"
    lines = [header, "|---|" + "---|" * len(Who)]
    for command in sorted(registry.commands.values(), key=lambda c: c.path):
        cells = " | ".join("yes" if allowed(command.access, who) else "—" for who in Who)
        lines.append(f"| `/ci {command.name}` | {cells} |")
    return "\n".join(lines) + "\n"

