"""Accounts in queries: the one lookup of a principal by (issuer, subject)."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from vault.accounts.models import Account
from vault.core.principal import Caller
from vault.core.repository import Repository

__all__ = ("AccountRepository",)


class AccountRepository(Repository[Account]):
    """Accounts of the vault; everything else refers to an account's opaque id."""

    model_type = Account

    async def by_identity(self, issuer: str, subject: str) -> Account | None:
        """The account of (issuer, subject), or None if the vault has never seen them."""
        return await self.session.scalar(select(Account).where(Account.issuer == issuer, Account.subject == subject))

    async def of(self, caller: Caller) -> Account | None:
        """The caller's own account, or None."""
        return await self.by_identity(caller.issuer, caller.subject)

    async def ensure(self, issuer: str, subject: str) -> Account:
        """The account of (issuer, subject), created on first sight (a concurrent creation wins)."""
        account = await self.by_identity(issuer, subject)
        if account is not None:
            return account
        try:
            async with self.session.begin_nested():
                account = Account(issuer=issuer, subject=subject)
                self.session.add(account)
        except sa_exc.IntegrityError:
            account = await self.by_identity(issuer, subject)
            assert account is not None
        return account
