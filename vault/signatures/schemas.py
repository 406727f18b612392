"""What the signature endpoints read."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

import signing

__all__ = ("SignOptions", "StampOptions")

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Coordinate = Annotated[int, msgspec.Meta(ge=0, le=14400)]


class StampOptions(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A visible signature stamp: page (0-based), box `[x1, y1, x2, y2]` in points, optional text."""

    page: Annotated[int, msgspec.Meta(ge=0, le=10000)] = 0
    box: Annotated[list[Coordinate], msgspec.Meta(min_length=4, max_length=4)] = msgspec.field(
        default_factory=lambda: [50, 50, 300, 120]
    )
    text: Text | None = None


class SignOptions(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How to sign: PAdES level (default B-T when the deployment has a TSA, else B-B; a person's signature is
    at least B-T), reason, location, field, visible stamp, certification, fields for later signers."""

    level: Literal["B-B", "B-T", "B-LT", "B-LTA"] | None = None
    reason: Text | None = None
    location: Text | None = None
    field: Name | None = None
    visible: StampOptions | None = None
    certify: bool = False
    existing_field_only: bool = False
    new_fields: Annotated[list[Name], msgspec.Meta(max_length=16)] = msgspec.field(default_factory=list)


class SignedVersion(msgspec.Struct, frozen=True):
    """The version a signature made: what a signer needs, nothing of the document's metadata (a grantee allowed
    only to sign must not learn the title through signing)."""

    document_id: uuid.UUID
    version: int
    size: int
    sha256: str


class ReportRead(signing.VerificationReport, frozen=True, kw_only=True):
    """The verification report (`signing.VerificationReport`); with `?etsi=true`, also the ETSI TS 119 102-2
    XML validation report of each signature."""

    etsi_reports: list[str] | None = None
