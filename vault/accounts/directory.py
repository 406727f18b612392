"""The directory: people and agencies known to the vault, found by the identity provider's handle.

An account enters the directory when its person first signs in (the middleware reports every authenticated
caller; one write per person and process while their claims stay the same). Sharing, requests and issuance
resolve recipients here: an unknown handle, subject or agency is a 422, and no vault is created for somebody
who has never signed in.
"""

from __future__ import annotations

from collections import OrderedDict

import msgspec
from sqlalchemy import func, or_, select

from vault.accounts.models import Account
from vault.accounts.repository import AccountRepository
from vault.core.database import Database
from vault.core.errors import UnprocessableContent
from vault.core.principal import Caller

__all__ = ("AccountDirectory", "DirectoryEntry", "DirectoryPage")

_SEEN_CACHE = 10_000
MAX_RESULTS = 20


class DirectoryEntry(msgspec.Struct, frozen=True):
    """A person (handle and name) or an agency (its name) one can share with or request from."""

    type: str
    handle: str
    name: str | None = None


class DirectoryPage(msgspec.Struct, frozen=True):
    items: list[DirectoryEntry]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class AccountDirectory:
    """Records who signed in, answers searches and resolves recipients."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._seen: OrderedDict[tuple[str, str], tuple[str | None, ...]] = OrderedDict()

    async def seen(self, caller: Caller) -> None:
        """Keep the caller's directory entry current (skipped while this process saw the same claims)."""
        key = (caller.issuer, caller.subject)
        facts = (caller.handle, caller.name, ",".join(sorted(caller.roles)), caller.agency)
        if self._seen.get(key) == facts:
            return
        async with self._db.transaction() as session:
            account = await AccountRepository(session).ensure(caller.issuer, caller.subject)
            account.handle, account.display_name, account.roles, account.agency = facts
        self._seen[key] = facts
        if len(self._seen) > _SEEN_CACHE:
            self._seen.popitem(last=False)

    async def search(self, caller: Caller, query: str) -> DirectoryPage:
        """People (by handle or name) and agencies (by name) of the caller's identity provider."""
        pattern = f"%{_escape_like(query.strip().lower())}%"
        async with self._db.transaction() as session:
            people = await session.execute(
                select(Account.handle, Account.display_name)
                .where(
                    Account.issuer == caller.issuer,
                    Account.handle.is_not(None),
                    Account.roles.contains("citizen"),
                    or_(
                        func.lower(Account.handle).like(pattern, escape="\\"),
                        func.lower(Account.display_name).like(pattern, escape="\\"),
                    ),
                )
                .order_by(Account.handle)
                .limit(MAX_RESULTS)
            )
            agencies = await session.scalars(
                select(Account.agency)
                .where(
                    Account.issuer == caller.issuer,
                    Account.agency.is_not(None),
                    func.lower(Account.agency).like(pattern, escape="\\"),
                )
                .distinct()
                .order_by(Account.agency)
                .limit(MAX_RESULTS)
            )
            items = [DirectoryEntry("agency", str(name)) for name in agencies]
            items += [DirectoryEntry("person", str(handle), name) for handle, name in people]
        return DirectoryPage(items=items)

    async def names(self, issuer: str, subjects: list[str]) -> dict[str, DirectoryEntry]:
        """The directory entries of people known by subject (a grant names its grantee by subject)."""
        if not subjects:
            return {}
        async with self._db.transaction() as session:
            rows = await session.execute(
                select(Account.subject, Account.handle, Account.display_name).where(
                    Account.issuer == issuer, Account.subject.in_(subjects)
                )
            )
            return {
                str(subject): DirectoryEntry("person", str(handle or subject), name) for subject, handle, name in rows
            }

    @staticmethod
    async def person(repository: AccountRepository, issuer: str, who: str) -> Account:
        """The account of a person named by handle or subject; 422 when nobody by that name ever signed in."""
        account = await repository.by_identity(issuer, who)
        if account is None:
            account = await repository.session.scalar(
                select(Account).where(Account.issuer == issuer, Account.handle == who).limit(1)
            )
        if account is None:
            raise UnprocessableContent(f"nobody called {who!r} is known to the vault (they have never signed in)")
        return account

    @staticmethod
    async def require_agency(repository: AccountRepository, issuer: str, agency: str) -> None:
        """422 unless an officer of `agency` has signed in (agencies are known by their officers)."""
        found = await repository.session.scalar(
            select(Account.id).where(Account.issuer == issuer, Account.agency == agency).limit(1)
        )
        if found is None:
            raise UnprocessableContent(f"no agency called {agency!r} is known to the vault")
