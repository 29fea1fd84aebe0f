"""Encrypted logical backups of the database (DESIGN §3): create, list, verify, restore, prune.

archive.py (format and manifest), rowcodec.py (typed values), export.py (one snapshot), restore.py
(into an empty database), stores.py (folder or S3), retention.py (what prune keeps), operations.py.
"""

from models.backup.errors import ArchiveInvalid, ArchiveNotFound, BackupError, RestoreRefused, StoreError
from models.backup.operations import (
    ArchiveInfo,
    CreatedArchive,
    PruneResult,
    RestoredArchive,
    VerifiedArchive,
    create_backup,
    list_backups,
    prune_backups,
    restore_backup,
    verify_backup,
)
from models.backup.stores import ArchiveStore, LocalDirStore, S3Store, locate_archive, store_from_config

__all__ = [
    "ArchiveInfo",
    "ArchiveInvalid",
    "ArchiveNotFound",
    "ArchiveStore",
    "BackupError",
    "CreatedArchive",
    "LocalDirStore",
    "PruneResult",
    "RestoreRefused",
    "RestoredArchive",
    "S3Store",
    "StoreError",
    "VerifiedArchive",
    "create_backup",
    "list_backups",
    "locate_archive",
    "prune_backups",
    "restore_backup",
    "store_from_config",
    "verify_backup",
]
