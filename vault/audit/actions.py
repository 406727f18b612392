"""Every action the audit log records, one name each; the canonical entry stores the string value."""

from __future__ import annotations

from enum import StrEnum

__all__ = ("AuditAction", "Outcome")


class AuditAction(StrEnum):
    """What happened. A denied attempt carries the same action as the success it tried to be."""

    AUTH_LOGIN = "auth.login"
    AUTH_LOGOUT = "auth.logout"
    AUTH_TOKEN = "auth.token"  # noqa: S105 - an action name, not a secret
    DOCUMENT_UPLOAD = "document.upload"
    DOCUMENT_ISSUE = "document.issue"
    DOCUMENT_VERSION = "document.version"
    DOCUMENT_UPDATE = "document.update"
    DOCUMENT_READ = "document.read"
    DOCUMENT_DOWNLOAD = "document.download"
    DOCUMENT_SIGN = "document.sign"
    DOCUMENT_VERIFY = "document.verify"
    DOCUMENT_ERASE = "document.erase"
    DOCUMENT_INTEGRITY_FAILURE = "document.integrity_failure"
    GRANT_CREATE = "grant.create"
    GRANT_REVOKE = "grant.revoke"
    LINK_CREATE = "link.create"
    LINK_REVOKE = "link.revoke"
    LINK_USE = "link.use"
    REQUEST_CREATE = "request.create"
    REQUEST_APPROVE = "request.approve"
    REQUEST_DENY = "request.deny"
    ACCOUNT_ERASE = "account.erase"
    ACCOUNT_LEGAL_HOLD = "account.legal_hold"
    AUDIT_READ = "audit.read"
    AUDIT_CHECKPOINT = "audit.checkpoint"
    AUDIT_EXPORT = "audit.export"
    KEYS_ROTATE = "keys.rotate"
    CERTIFICATE_ISSUE = "certificate.issue"
    LTA_RENEW = "document.lta_renew"


class Outcome(StrEnum):
    """How it ended."""

    SUCCESS = "success"
    DENIED = "denied"
    FAILED = "failed"
