"""What can go wrong with a backup; every message is safe to print (names, counts, never row values)."""

from __future__ import annotations


class BackupError(Exception):
    """A backup operation failed; the message says what and, where it can, what to do."""


class ArchiveNotFound(BackupError):
    """No archive under that path, key or name."""


class ArchiveInvalid(BackupError):
    """The archive does not decrypt, is damaged, or does not match its manifest."""


class StoreError(BackupError):
    """The backup folder or bucket could not be read or written."""


class RestoreRefused(BackupError):
    """The target database is not in a state a restore may write into."""
