"""Who gets which messages by email: kinds, preferences, unsubscribes and bounces.

Three kinds of message go by email: meeting ``reminders``, data ``prompts`` (and their
follow-ups) and ``digests``; the outbox key tells which. A member is emailed when
they have an address that has not bounced, did not unsubscribe from that kind, and
either have no chat identity or chose email (`/ci email on`); `/ci email off` stops it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.core import tokens
from storage.initiative import Member, Platform, PlatformIdentity
from storage.mail import EmailMode, EmailOptOut, EmailPreference

PLATFORM = "email"
KINDS = {"reminders": "meeting reminders", "prompts": "data requests", "digests": "digests"}
_PREFIXES = (("meeting.reminder", "reminders"), ("measures.prompt", "prompts"), ("measures.follow_up", "prompts"),
             ("digest", "digests"))
UNSUBSCRIBE = "unsubscribe"  # token purpose
UNSUBSCRIBE_VALID = timedelta(days=365)


def kind_of(key: str) -> str | None:
    """The kind of email an outbox key is (``reminders``, ``prompts``, ``digests``), or None if not emailed."""
    return next((kind for prefix, kind in _PREFIXES if key.startswith(prefix)), None)


def preference(session: Session, member_id: int) -> EmailPreference:
    """The member's email preference row (a fresh, unsaved one when they never chose)."""
    found = session.exec(select(EmailPreference).where(EmailPreference.member_id == member_id)).first()
    return found or EmailPreference(member_id=member_id)


def recipients(session: Session, member_ids: Iterable[int], kind: str) -> list[Member]:
    """Of `member_ids`, the active members to email a message of `kind`, by id."""
    ids = sorted(set(member_ids))
    if not ids:
        return []
    members = session.exec(select(Member).where(col(Member.id).in_(ids), Member.active == True,  # noqa: E712
                                                Member.email != "")).all()
    if not members:
        return []
    found = [m.id for m in members]
    prefs = {p.member_id: p for p in session.exec(select(EmailPreference).where(
        col(EmailPreference.member_id).in_(found)))}
    out = set(session.exec(select(EmailOptOut.member_id).where(col(EmailOptOut.member_id).in_(found),
                                                              EmailOptOut.kind == kind)))
    chatting = set(session.exec(select(PlatformIdentity.member_id).where(
        col(PlatformIdentity.member_id).in_(found), PlatformIdentity.platform != Platform.CONSOLE)))
    chosen = []
    for member in sorted(members, key=lambda m: m.id or 0):
        pref = prefs.get(member.id or 0)
        mode = pref.mode if pref else EmailMode.AUTO
        if member.id in out or mode == EmailMode.OFF or (pref and bounced(pref, member)):
            continue
        if mode == EmailMode.ON or member.id not in chatting:
            chosen.append(member)
    return chosen


def bounced(pref: EmailPreference, member: Member) -> bool:
    """True when the member's current address is the one the mail server refused for good."""
    return bool(pref.bounced_address) and pref.bounced_address.lower() == member.email.lower()


def may_send(session: Session, member: Member, kind: str | None) -> str:
    """Why the member must not be mailed a message of `kind` now ("" when they may)."""
    if not member.active or not member.email:
        return "the member is inactive or has no email address"
    pref = preference(session, member.id or 0)
    if pref.mode == EmailMode.OFF:
        return "the member turned email off"
    if bounced(pref, member):
        return f"{member.email} bounced: {pref.bounce_reason}"
    if kind and session.exec(select(EmailOptOut).where(EmailOptOut.member_id == member.id,
                                                       EmailOptOut.kind == kind)).first():
        return f"the member unsubscribed from {KINDS.get(kind, kind)}"
    return ""


def set_mode(session: Session, member_id: int, mode: EmailMode, now: datetime) -> None:
    """Record the member's choice; turning email on also clears their unsubscribes."""
    pref = preference(session, member_id)
    pref.mode, pref.updated_at = mode, now
    session.add(pref)
    if mode == EmailMode.ON:
        for row in session.exec(select(EmailOptOut).where(EmailOptOut.member_id == member_id)):
            session.delete(row)


def unsubscribe(session: Session, member_id: int, kind: str, now: datetime) -> bool:
    """Stop emails of `kind` to the member; False when they had already stopped them."""
    if session.exec(select(EmailOptOut).where(EmailOptOut.member_id == member_id, EmailOptOut.kind == kind)).first():
        return False
    session.add(EmailOptOut(member_id=member_id, kind=kind, at=now))
    return True


def mark_bounced(session: Session, member: Member, reason: str, now: datetime) -> None:
    """Record that the mail server refused the member's address for good: no more email to it."""
    pref = preference(session, member.id or 0)
    pref.bounced_address, pref.bounced_at, pref.bounce_reason = member.email, now, reason[:500]
    session.add(pref)


def unsubscribe_token(member_id: int, kind: str, now: datetime) -> str:
    """The signed token of a one-click unsubscribe link for `kind`."""
    return tokens.sign(UNSUBSCRIBE, {"m": member_id, "k": kind}, now + UNSUBSCRIBE_VALID)
