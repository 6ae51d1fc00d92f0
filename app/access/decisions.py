"""The admin's decisions on access applications: approve, return to the manager, reject.

Approval creates the account, carries out the change, or ends the account at once. Every
decision is a conditional UPDATE from "submitted", so an application is decided only once.
"""
from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import Select, delete, func, or_, select, update

from app.access import mails, tokens
from app.access.models import AccessApplication
from app.access.rules import FIELD_LABELS, USERNAME, ChangeType, Kind, Status, TokenPurpose, suggest_username
from app.access.services import NOTE_MAX, queue_mail, system_name
from core.auth.passwords import hash_password
from core.auth.roles import Role
from core.clock import utcnow
from core.errors import DomainError, NotFound, ValidationFailed
from core.extensions import db
from core.models import ApiToken, User, UserRole
from core.store import begin_write


def get_application(application_id: int) -> AccessApplication:
    application = db.session.get(AccessApplication, application_id)
    if application is None:
        raise NotFound("Ärendet finns inte.")
    return application


def account_for(application: AccessApplication) -> User | None:
    """Return the existing account a change or termination concerns."""
    if not application.username:
        return None
    return db.session.scalar(select(User).where(User.username == application.username.lower()))


def same_person(application: AccessApplication) -> list[AccessApplication]:
    """Return the other applications of the same kind for the same person (HSA-id, e-mail or name), newest first.

    A second application for someone is flagged, so it is not approved twice by mistake.
    """
    same = [AccessApplication.name == application.name]
    if application.hsa_id:
        same.append(AccessApplication.hsa_id == application.hsa_id)
    if application.email:
        same.append(func.lower(AccessApplication.email) == application.email.lower())
    return list(db.session.scalars(select(AccessApplication).where(
        AccessApplication.id != application.id, AccessApplication.kind == application.kind, or_(*same))
        .order_by(AccessApplication.id.desc())))


def suggested_username(application: AccessApplication) -> str:
    taken = db.session.scalars(select(User.username).where(User.username.like(f"{_prefix(application.name)}%")))
    return suggest_username(application.name, list(taken))


def _prefix(name: str) -> str:
    return suggest_username(name, [])[:3]


def _decide(actor: User, application_id: int, status: Status, note: str | None) -> AccessApplication:
    """Move a submitted application to its decision; refuse one that is already decided."""
    result = db.session.execute(
        update(AccessApplication)
        .where(AccessApplication.id == application_id, AccessApplication.status == Status.SUBMITTED.value)
        .values(status=status.value, decided_at=utcnow(), decided_by_id=actor.id, decision_note=note or None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        get_application(application_id)
        raise DomainError("Ärendet är redan handlagt eller väntar på komplettering.")
    application = db.session.get(AccessApplication, application_id)
    db.session.refresh(application)
    return application


def approve(actor: User, application_id: int, username: str | None = None) -> AccessApplication:
    """Approve: create the account, carry out the change, or end the account at once; mail those concerned."""
    begin_write()
    application = _decide(actor, application_id, Status.APPROVED, None)
    try:
        kind = application.kind_enum
        if kind is Kind.NEW:
            user = _create_account(application, username)
        else:
            user = account_for(application)
            if user is None:
                raise DomainError(f"Det finns inget konto med användarnamnet {application.username}. "
                                  "Returnera ärendet till chefen för komplettering.", field="username")
            if kind is Kind.TERMINATION:
                _terminate(application, user)
            else:
                _change(application, user)
        application.user_id = user.id
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    current_app.logger.info("access application %s approved", application.reference)
    return application


def _create_account(application: AccessApplication, username: str | None) -> User:
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise ValidationFailed.single("username", "Användarnamn: 3–64 tecken, små bokstäver a–z, siffror, . _ -")
    if db.session.scalar(select(func.count()).select_from(User).where(User.username == username)):
        raise ValidationFailed.single("username", f"Användarnamnet {username} är upptaget.")
    if application.hsa_id and db.session.scalar(select(User.id).where(User.hsa_id == application.hsa_id)):
        raise ValidationFailed.single("hsa_id", "Det finns redan ett konto med det HSA-id:t.")
    # Nobody knows this password: the user chooses their own through the single-use link.
    user = User(username=username, name=application.name, hsa_id=application.hsa_id, email=application.email,
                phone=application.phone, workplace=application.workplace,
                password_hash=hash_password(secrets.token_urlsafe(32)))
    user.role_rows = [UserRole(role=application.role)]
    user.product_areas = list(application.product_areas)
    user.units = list(application.units)
    db.session.add(user)
    db.session.flush()
    application.username = username
    lifetime = current_app.config["ACCESS_SET_PASSWORD_TOKEN_LIFETIME"]
    token = tokens.issue(TokenPurpose.SET_PASSWORD, lifetime, user_id=user.id)
    ref, system = application.reference, system_name()
    queue_mail(user.email, *mails.account_created_to_user(
        system, ref, username, tokens.link("access.set_password", t=token), tokens.lifetime_days(lifetime)))
    queue_mail(application.manager_email, *mails.account_created_to_manager(system, ref, username))
    return user


def _change(application: AccessApplication, user: User) -> None:
    change = application.change_enum
    if change is ChangeType.LEAVE:
        user.active = False  # no login during the leave; "Åter från tjänstledighet" opens it again
    elif change is ChangeType.RETURN:
        user.active = True
    elif change is ChangeType.NAME:
        user.name = application.new_name
    elif change is ChangeType.WORKPLACE:
        user.workplace = application.workplace
        user.units = list(application.units)
    elif change is ChangeType.ROLE:
        if user.roles != {Role(application.role)}:
            user.role_rows = [row for row in user.role_rows if row.role == application.role] or [
                UserRole(role=application.role)]
        user.product_areas = list(application.product_areas)
    if change is ChangeType.LEAVE:
        _revoke_api_tokens(user)
    subject, body = mails.change_done(system_name(), application.reference, change.label, user.username)
    queue_mail(user.email, subject, body)
    queue_mail(application.manager_email, subject, body)


def _terminate(application: AccessApplication, user: User) -> None:
    """End the account at once: no login, no API token, no link left that could open it."""
    user.active = False
    _revoke_api_tokens(user)
    tokens.void_for_user(user.id, tuple(TokenPurpose))
    queue_mail(application.manager_email, *mails.termination_done(system_name(), application.reference, user.username))


def _revoke_api_tokens(user: User) -> None:
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))


def return_to_manager(actor: User, application_id: int, missing: list[str], comment: str) -> AccessApplication:
    """Return an incomplete application to the manager with what is missing and a link to complete it."""
    begin_write()
    comment = (comment or "").strip()
    unknown = [m for m in missing if m not in FIELD_LABELS]
    if unknown:
        raise ValidationFailed.single("missing", "Okänt fält.")
    if not missing and not comment:
        raise ValidationFailed.single("missing", "Markera vad som saknas eller skriv en kommentar.")
    if len(comment) > NOTE_MAX:
        raise ValidationFailed.single("comment", f"Kommentaren får vara högst {NOTE_MAX} tecken.")
    application = _decide(actor, application_id, Status.RETURNED, comment)
    application.missing = ",".join(dict.fromkeys(missing))
    lifetime = current_app.config["ACCESS_COMPLETION_TOKEN_LIFETIME"]
    token = tokens.issue(TokenPurpose.COMPLETE_APPLICATION, lifetime, application_id=application.id)
    queue_mail(application.manager_email, *mails.returned_to_manager(
        system_name(), application.reference, [FIELD_LABELS[m] for m in application.missing_list], comment or None,
        tokens.link("access.complete", t=token), tokens.lifetime_days(lifetime)), field="comment")
    db.session.commit()
    current_app.logger.info("access application %s returned to the manager", application.reference)
    return application


def reject(actor: User, application_id: int, reason: str) -> AccessApplication:
    """Refuse the application with a reason, mailed to the manager and the applicant."""
    begin_write()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.single("reason", "Skriv en motivering till avslaget.")
    if len(reason) > NOTE_MAX:
        raise ValidationFailed.single("reason", f"Motiveringen får vara högst {NOTE_MAX} tecken.")
    application = _decide(actor, application_id, Status.REJECTED, reason)
    subject, body = mails.rejected(system_name(), application.reference, reason)
    queue_mail(application.manager_email, subject, body, field="reason")
    if application.email and application.email.lower() != application.manager_email.lower():
        queue_mail(application.email, subject, body, field="reason")
    db.session.commit()
    current_app.logger.info("access application %s rejected", application.reference)
    return application


def applications_query(status: Status | None) -> Select:
    """Return the applications, optionally of one status (not yet sorted or paged)."""
    query = select(AccessApplication)
    return query.where(AccessApplication.status == status.value) if status else query
