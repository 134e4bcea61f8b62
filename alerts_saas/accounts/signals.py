"""What accounts tells the apps on top of it, which it never imports (DESIGN.md, "Layout").

Each is sent inside the transaction that made the change, so a receiver's writes (the
audit log's entry) commit or roll back with it.
"""

from django.dispatch import Signal

# An invitation was claimed by the person it was sent to (`invitation`: the Invitation).
invitation_accepted = Signal()
# A person joined the organization by accepting an invitation (`membership`: the Membership
# just made), perhaps one who had left it: sent in the transaction that made it.
member_joined = Signal()
# An invitation not yet used was revoked (`invitation`: the Invitation; `why`: empty when a
# person withdrew it, else why it was: its sender lost the right to send it).
invitation_revoked = Signal()

# A person is losing the right to manage the organization: removed from it, leaving it, or
# made a member (`membership`: the Membership, still saved with its old role; `reason`: one
# of the DEPARTURE_* below; `by`: the User acting). Sent before the change is written, so a
# receiver (the API tokens they made are revoked) still sees who they were. A receiver may
# answer {kind: [names]} of what it took ("api_tokens": the tokens revoked), which a change
# of role's message names.
member_departing = Signal()
DEPARTURE_REMOVED = "removed"
DEPARTURE_LEFT = "left"
DEPARTURE_DEMOTED = "demoted"

# Asked when members are listed (the members page, a removal's or a change of role's
# confirmation): each receiver answers {attribute: query expression over a Membership},
# annotated in the list's own query, saying what removing or demoting that member takes
# away (their API tokens: "api_tokens").
member_holdings = Signal()
