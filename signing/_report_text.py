"""The human rendering of a verification report (the ``vault verify`` command)."""

from __future__ import annotations

from datetime import datetime

from ._report import Qualification, SignatureReport, VerificationReport

__all__ = ("format_report_text",)

_VERDICT_TEXT = {"passed": "PASSED", "failed": "FAILED", "indeterminate": "CANNOT TELL YET"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _yes(flag: bool | None) -> str:
    return "unknown" if flag is None else ("yes" if flag else "no")


def _qualification_line(label: str, q: Qualification | None) -> list[str]:
    if q is None:
        return []
    details = ", ".join(v for v in (q.service, q.service_type, q.certificate_type, q.qscd) if v)
    checked = "" if q.list_signature_checked else "; the list's signature was not checked"
    return [f"  {label} {q.status}{f' ({details})' if details else ''}: {q.reason}{checked}"]


def _signature_lines(sig: SignatureReport) -> list[str]:
    lines = [
        f"{sig.kind.replace('_', ' ')} in field {sig.field!r}",
        f"  verdict:       {_VERDICT_TEXT[sig.verdict]}: {sig.verdict_reason}",
    ]
    if sig.signer is not None:
        lines += [f"  signer:        {sig.signer.subject}", f"  issued by:     {sig.signer.issuer}"]
    lines.append(f"  signing time:  {_iso(sig.signing_time) or 'unknown'}")
    if sig.timestamp is not None:
        trust = "trusted" if sig.timestamp.trusted else "NOT trusted"
        lines.append(f"  timestamp:     {_iso(sig.timestamp.time)} ({trust})")
    lines += [
        f"  intact: {_yes(sig.intact)}, valid: {_yes(sig.valid)}, trusted: {_yes(sig.trusted)},"
        f" revoked: {_yes(sig.revoked)}, revocation status: {sig.revocation}",
        f"  coverage: {sig.coverage or 'unknown'}; modifications after signing: {sig.modifications or 'unknown'}",
        f"  PAdES level (structure): {sig.pades_level or 'n/a'}",
        f"  pyHanko classic verdict: {'VALID' if sig.bottom_line else 'NOT VALID'} ({sig.summary})",
    ]
    if sig.ades is not None:
        sub = f" / {sig.ades.subindication}" if sig.ades.subindication else ""
        process = f" ({sig.ades.process} validation)" if sig.ades.process else ""
        lines.append(f"  ETSI EN 319 102-1 indication: {sig.ades.indication}{sub}{process}")
        if sig.ades.failure_message:
            lines.append(f"  ETSI detail: {sig.ades.failure_message}")
    lines += _qualification_line("qualified (EU trusted list):", sig.qualification)
    if sig.kind == "signature" and sig.timestamp is not None:
        lines += _qualification_line("timestamp qualified (EU trusted list):", sig.timestamp.qualification)
    lines += [f"  problem: {p}" for p in sig.problems]
    return lines


def format_report_text(report: VerificationReport) -> str:
    """Render a report for people (the ``vault verify`` command)."""
    if not report.signatures:
        lines = ["No signatures found."]
    else:
        lines = []
        for sig in report.signatures:
            lines += _signature_lines(sig)
            lines.append("")
        lines.append(f"RESULT: {_VERDICT_TEXT[report.verdict]}: {report.verdict_reason}")
        classic = "all signatures passed" if report.all_passed else "NOT all signatures passed"
        lines.append(f"pyHanko classic result: {classic}")
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines) + "\n"
