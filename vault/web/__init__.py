"""The web portal: server-rendered pages for citizens, officers, auditors and the public.

Sign-in through the configured OpenID provider (`auth.BrowserLogin`), server-side sessions in the database,
CSRF tokens on every form, Jinja templates with gettext (English, French), a strict Content-Security-Policy and
HTML error pages for browsers. Modules are imported where they are used: this package's `models` is part of
the schema and must stay importable without the web stack.
"""

__all__ = ()
