"""What accounts tells the apps on top of it, which it never imports (DESIGN.md, "Layout").

Each is sent inside the transaction that made the change, so a receiver's writes (the
audit log's entry) commit or roll back with it.
"""

from django.dispatch import Signal

# An invitation was claimed by the person it was sent to (`invitation`: the Invitation).
invitation_accepted = Signal()
# An invitation not yet used was revoked (`invitation`: the Invitation).
invitation_revoked = Signal()
