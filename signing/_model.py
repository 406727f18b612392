"""What a caller asks for when signing: PAdES level, visible stamp, certification, fields."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ("PadesLevel", "SignRequest", "VisibleStamp")


class PadesLevel(StrEnum):
    """PAdES baseline levels (ETSI EN 319 142-1)."""

    B_B = "B-B"
    """Basic signature, no timestamp."""
    B_T = "B-T"
    """With a signature timestamp from a TSA."""
    B_LT = "B-LT"
    """B-T plus the certificates and revocation information needed to validate it, in the DSS."""
    B_LTA = "B-LTA"
    """B-LT plus a document timestamp protecting the validation material."""

    @property
    def needs_timestamp(self) -> bool:
        """Whether this level needs a timestamp authority."""
        return self is not PadesLevel.B_B

    @property
    def embeds_validation_info(self) -> bool:
        """Whether this level embeds validation material (DSS)."""
        return self in (PadesLevel.B_LT, PadesLevel.B_LTA)


@dataclass(frozen=True)
class VisibleStamp:
    """A visible signature appearance.

    Attributes:
        page: Zero-based page index the stamp goes on.
        box: The stamp rectangle ``(x1, y1, x2, y2)`` in PDF user-space points.
        text: Stamp text; ``None`` shows the signer's name, the signing time and the reason.
    """

    page: int = 0
    box: tuple[int, int, int, int] = (50, 50, 300, 120)
    text: str | None = None

    def __post_init__(self) -> None:
        x1, y1, x2, y2 = self.box
        if self.page < 0 or x1 >= x2 or y1 >= y2:
            raise ValueError("a stamp needs a page index >= 0 and a box (x1, y1, x2, y2) with x1 < x2 and y1 < y2")


@dataclass(frozen=True)
class SignRequest:
    """One signing operation.

    Attributes:
        level: The PAdES level to produce.
        field_name: Signature field to use or create; ``None`` lets the library choose.
        reason: Reason for signing, recorded in the signature.
        location: Location of signing, recorded in the signature.
        stamp: Visible appearance; ``None`` for an invisible signature.
        certify: Make this a certification signature (DocMDP, P=2: form filling and signing allowed after).
        existing_field_only: Only sign an existing empty field, never create one (for later parties in a
            multi-party flow: creating a field would break an earlier certification).
        new_fields: Names of empty signature fields to create before signing (for later parties).
    """

    level: PadesLevel = PadesLevel.B_B
    field_name: str | None = None
    reason: str | None = None
    location: str | None = None
    stamp: VisibleStamp | None = None
    certify: bool = False
    existing_field_only: bool = False
    new_fields: tuple[str, ...] = ()
