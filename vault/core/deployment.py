"""Settings every instance of a deployment must agree on, recorded in the database by the first instance.

A second instance started with another issuer or audit origin would split one citizen into two accounts, or
sign checkpoints nobody can verify with the published key; it refuses to start instead, naming the setting.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import String, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Mapped, mapped_column

from vault.core.base import Base
from vault.core.database import Database

__all__ = ("DeploymentSetting", "SettingsDisagree", "agree_on")


class DeploymentSetting(Base):
    """One agreed setting: its environment variable and the value the first instance started with."""

    __tablename__ = "deployment_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(1024))


class SettingsDisagree(ValueError):
    """This instance's configuration differs from the deployment's."""


async def agree_on(db: Database, values: Mapping[str, str]) -> None:
    """Record `values` (variable name -> value) on first start; raise SettingsDisagree on any difference."""
    async with db.transaction() as session:
        stored = {row.name: row.value for row in await session.scalars(select(DeploymentSetting))}
        for name, value in values.items():
            if name not in stored:
                try:
                    async with session.begin_nested():
                        session.add(DeploymentSetting(name=name, value=value))
                except sa_exc.IntegrityError:  # another instance recorded it first: compare with theirs
                    stored[name] = str(
                        await session.scalar(select(DeploymentSetting.value).where(DeploymentSetting.name == name))
                    )
            if name in stored and stored[name] != value:
                raise SettingsDisagree(
                    f"{name} is {value!r} here but {stored[name]!r} for the rest of this deployment: every instance "
                    f"must use the same {name}"
                )
