"""PagerDuty sandbox: a local stand-in for PagerDuty's identity, REST and Events v2 APIs.

Run it with ``python -m devtools.sandbox --port 8100``; see ``app.py``
for the URL layout and ``testing.py`` for the pytest helpers.
"""

from .app import create_app
from .config import SandboxConfig

__all__ = ["SandboxConfig", "create_app"]
