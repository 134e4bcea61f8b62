"""The audit log: who changed what in an organization, when and from where."""
