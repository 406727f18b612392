"""Serve the test PKI (OCSP, CRLs, TSA, certificate repositories) on loopback.

Usage: ``python tests/pki/animate.py CONFIG KEY_DIR PORT``. Unlike ``certomancer animate`` this truncates every
response time to whole seconds: poppler/NSS reject OCSP responses with fractional seconds.
"""

from __future__ import annotations

import sys
from datetime import datetime

from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import CertomancerConfig
from werkzeug.serving import run_simple


class WholeSecondAnimator(Animator):
    """certomancer's WSGI animator, answering with times that have no fractional seconds."""

    def at_time(self, request: object) -> datetime:
        return super().at_time(request).replace(microsecond=0)


def main(config_path: str, key_dir: str, port: int) -> None:
    """Load the config with the loopback URL prefix and serve it until killed."""
    cfg = CertomancerConfig.from_file(
        config_path, key_search_dir=key_dir, external_url_prefix=f"http://127.0.0.1:{port}"
    )
    app = WholeSecondAnimator(AnimatorArchStore(cfg.pki_archs), with_web_ui=False)
    run_simple("127.0.0.1", port, app, threaded=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
