import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from apps.accounts.models import ApiToken, LoginFailure, Membership, Organisation, User, api_token_hash
from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug, n = base, 1
    while Organisation.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def organisation_create(*, name: str, owner: User) -> Organisation:
    name = name.strip()
    if not name:
        raise ApplicationError("An organisation needs a name.")
    organisation = Organisation.objects.create(name=name, slug=_unique_slug(name))
    Membership.objects.create(organisation=organisation, user=owner, role=Membership.Role.OWNER)
    audit_record(organisation=organisation, actor=owner, action="organisation.created", target=organisation)
    return organisation


@transaction.atomic
def user_sign_up(*, email: str, password: str, organisation_name: str, full_name: str = "") -> User:
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ApplicationError("An account with this e-mail address already exists. Log in instead.")
    user = User.objects.create_user(email=email, password=password, full_name=full_name.strip())
    organisation_create(name=organisation_name, owner=user)
    return user


def _membership_manager(*, organisation: Organisation, actor: User, staff_override: bool) -> Membership | None:
    """The actor's own membership, if they may manage members here. `staff_override` is for the staff admin,
    where the operator's staff act across organisations; they still cannot break the last-owner rule."""
    if staff_override:
        if not getattr(actor, "is_staff", False):
            raise ApplicationError("Only staff can manage members from the admin.", status_code=403)
        return None
    manager = Membership.objects.for_organisation(organisation).filter(user=actor).first()
    if manager is None or not manager.is_admin:
        raise ApplicationError("Only an owner or admin of this organisation can manage its members.", status_code=403)
    return manager


def _check_owner_rule(manager: Membership | None, *roles: str) -> None:
    # Admins run the day-to-day; only an owner can hand out ownership or touch another owner.
    if manager is not None and manager.role != Membership.Role.OWNER and Membership.Role.OWNER in roles:
        raise ApplicationError("Only an owner can make someone an owner, or change or remove an owner.", status_code=403)


def _check_role(role: str) -> None:
    if role not in Membership.Role.values:
        raise ApplicationError(f"Unknown role {role!r}.", extra={"allowed": list(Membership.Role.values)})


@transaction.atomic
def membership_add(
    *, organisation: Organisation, email: str, role: str, actor: User, staff_override: bool = False
) -> Membership:
    """Add a person who has already signed up. Owners and admins may add people; only owners may add owners."""
    _check_role(role)
    manager = _membership_manager(organisation=organisation, actor=actor, staff_override=staff_override)
    _check_owner_rule(manager, role)
    email = (email or "").strip()
    if not email:
        raise ApplicationError("Give the e-mail address the person signed up with.")
    user = User.objects.filter(email__iexact=email).first()
    if user is None or not user.is_active:
        raise ApplicationError("No one has signed up with that e-mail address yet. Ask them to sign up first.")
    if Membership.objects.for_organisation(organisation).filter(user=user).exists():
        raise ApplicationError("That person is already a member of this organisation.")
    membership = Membership.objects.create(organisation=organisation, user=user, role=role)
    audit_record(
        organisation=organisation,
        actor=actor,
        actor_kind="staff" if staff_override else "user",
        action="membership.added",
        target=membership,
        data={"role": role, "user_id": user.pk},
    )
    return membership


def _owners_left(organisation: Organisation, excluding: Membership) -> int:
    # Lock the owners' rows, so two owners demoting each other at the same moment cannot leave none.
    owners = (
        Membership.objects.for_organisation(organisation)
        .filter(role=Membership.Role.OWNER)
        .select_for_update()
        .values_list("pk", flat=True)
    )
    return sum(1 for pk in owners if pk != excluding.pk)


@transaction.atomic
def membership_role_change(
    *, membership: Membership, role: str, actor: User, staff_override: bool = False
) -> Membership:
    _check_role(role)
    manager = _membership_manager(organisation=membership.organisation, actor=actor, staff_override=staff_override)
    _check_owner_rule(manager, role, membership.role)
    if membership.role == role:
        return membership
    if membership.role == Membership.Role.OWNER and _owners_left(membership.organisation, membership) == 0:
        raise ApplicationError("An organisation needs at least one owner. Make someone else owner first.")
    old_role = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        organisation=membership.organisation,
        actor=actor,
        actor_kind="staff" if staff_override else "user",
        action="membership.role_changed",
        target=membership,
        data={"from": old_role, "to": role, "user_id": membership.user_id},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User, staff_override: bool = False) -> None:
    """Remove a person from the organisation (or let them leave it). Their API tokens there stop working."""
    leaving = membership.user_id == actor.pk and not staff_override
    if not leaving:
        manager = _membership_manager(
            organisation=membership.organisation, actor=actor, staff_override=staff_override
        )
        _check_owner_rule(manager, membership.role)
    if membership.role == Membership.Role.OWNER and _owners_left(membership.organisation, membership) == 0:
        raise ApplicationError(
            "The last owner cannot leave or be removed. Make someone else owner first."
        )
    organisation = membership.organisation
    now = timezone.now()
    ApiToken.objects.for_organisation(organisation).filter(user=membership.user, revoked_at__isnull=True).update(
        revoked_at=now
    )
    audit_record(
        organisation=organisation,
        actor=actor,
        actor_kind="staff" if staff_override else "user",
        action="membership.left" if leaving else "membership.removed",
        target=membership,
        data={"user_id": membership.user_id, "role": membership.role},
    )
    membership.delete()


@transaction.atomic
def api_token_create(*, organisation: Organisation, user: User, name: str, expires_at=None) -> tuple[ApiToken, str]:
    """Make a token and return it with its plain text, which is never stored and cannot be shown again."""
    name = name.strip()
    if not name:
        raise ApplicationError("Give the token a name, so you can tell it apart later.")
    if not Membership.objects.for_organisation(organisation).filter(user=user).exists():
        raise ApplicationError("You are not a member of this organisation.", status_code=403)
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError("The expiry date must be in the future.")
    raw = ApiToken.TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organisation=organisation,
        user=user,
        name=name,
        prefix=raw[: len(ApiToken.TOKEN_PREFIX) + 6],
        key_hash=api_token_hash(raw),
        expires_at=expires_at,
    )
    audit_record(organisation=organisation, actor=user, action="api_token.created", target=token)
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(organisation=token.organisation, actor=actor, action="api_token.revoked", target=token)
    return token


LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
LOGIN_FAILURE_LIMIT = 10


def login_account_key(email: str) -> str:
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()


def login_attempts_exhausted(*, email: str) -> bool:
    """Whether this account has had too many failed log-ins lately to try again now."""
    since = timezone.now() - LOGIN_FAILURE_WINDOW
    return (
        LoginFailure.objects.filter(account_key=login_account_key(email), created_at__gte=since).count()
        >= LOGIN_FAILURE_LIMIT
    )


def login_failure_record(*, email: str, ip_address: str | None) -> None:
    now = timezone.now()
    LoginFailure.objects.filter(created_at__lt=now - LOGIN_FAILURE_WINDOW).delete()
    LoginFailure.objects.create(account_key=login_account_key(email), ip_address=ip_address or None, created_at=now)


def login_failures_clear(*, email: str) -> None:
    LoginFailure.objects.filter(account_key=login_account_key(email)).delete()
