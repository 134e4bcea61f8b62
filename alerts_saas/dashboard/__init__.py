"""The organization's home: what is firing, what is broken, what failed, what arrives, and
how far the organization has got in setting up. It reads the other apps; none reads it."""
