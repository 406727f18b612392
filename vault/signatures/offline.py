"""`vault verify FILE.pdf`: offline verification for auditors, human or JSON output, exit code 0 only if all pass."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import signing

__all__ = ("verify_file_cli",)


def verify_file_cli(
    path: Path,
    trust: list[Path],
    *,
    as_json: bool,
    trusted_list: Path | None = None,
    trusted_list_signers: list[Path] | None = None,
) -> int:
    """Verify every signature in `path` against the `trust` roots (and the services of an EU `trusted_list`, its
    signature checked against `trusted_list_signers` when given); print the report.

    Exit codes: 0 every signature passes (and there is at least one), 1 a signature fails or there is none,
    2 the file or a trust root cannot be read, or the file is not a usable PDF.
    """
    if not trust:
        print("give at least one trust root with --trust ROOT.pem", file=sys.stderr)
        return 2
    try:
        pdf = path.read_bytes()
        roots = [root.read_bytes() for root in trust]
        tl = signing.TrustedList.load(trusted_list, signers=trusted_list_signers or None) if trusted_list else None
        report = asyncio.run(signing.PdfVerifier(roots, trusted_list=tl).verify(pdf))
    except OSError as exc:
        print(f"cannot read: {exc}", file=sys.stderr)
        return 2
    except signing.TrustedListError as exc:
        print(f"unusable trusted list: {exc.detail}", file=sys.stderr)
        return 2
    except signing.SigningError as exc:
        print(f"not a usable PDF: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=2) if as_json else signing.format_report_text(report))
    return 0 if report.verdict == "passed" else 1
