"""The image on disk: an SQLite database of blocks, crash-safe by transactions.

A block store keeps only some blocks in main memory (:class:`~.store.BlockStore`);
the rest stay here and are read on demand, so an image larger than main
memory still runs.  The database has two tables::

    block(number INTEGER PRIMARY KEY, data BLOB)   -- exactly block_size bytes each
    meta(key TEXT PRIMARY KEY, value TEXT)         -- "image": the image's JSON meta

Crash safety is SQLite's: the store holds one write transaction open for the
whole session, so a dirty block that main memory has to drop is written into
that transaction (the previous image on disk is untouched); :meth:`DiskImage.save`
commits it.  A process killed at any point of a run or of a save leaves the
last committed image loadable (``tests/test_host_store.py`` kills one).
"""

import json
import sqlite3
from pathlib import Path

from blocktalk.image.errors import ImageError
from blocktalk.memory import block as B
from blocktalk.memory import format as F

#: the first bytes of every SQLite 3 database
SQLITE_MAGIC = b"SQLite format 3\0"
SCHEMA_VERSION = 1


def is_disk_image(path):
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


class DiskImage:
    """One image file on disk.  Use :meth:`create` or :meth:`open`."""

    def __init__(self, path, db):
        self.path = Path(path)
        self.db = db
        self.reads = 0
        self.writes = 0
        row = db.execute("SELECT value FROM meta WHERE key='image'").fetchone()
        if row is None:
            raise ImageError(f"{path}: not a blocktalk disk image (no image meta)")
        try:
            self.meta = json.loads(row[0])
        except ValueError as e:
            raise ImageError(f"{path}: corrupt image meta ({e})") from None
        self.block_size = self.meta.get("block_size")
        try:
            F.check_block_size(self.block_size)
        except ValueError as e:
            raise ImageError(f"{path}: bad block size in meta: {e}") from None
        (self.count,) = db.execute("SELECT count(*) FROM block").fetchone()
        if self.count != self.meta.get("block_count"):
            raise ImageError(f"{path}: the meta says {self.meta.get('block_count')} blocks, "
                             f"the block table holds {self.count}")
        db.execute("BEGIN IMMEDIATE")      # the session's transaction (see the module doc)

    @staticmethod
    def _connect(path):
        db = sqlite3.connect(str(path), isolation_level=None)
        db.execute("PRAGMA journal_mode=DELETE")
        db.execute("PRAGMA synchronous=FULL")
        return db

    @classmethod
    def create(cls, path, image):
        """Write ``image`` (an :class:`~blocktalk.image.file.Image`) as a new disk
        image at ``path``, replacing any file there only once it is complete."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.new")
        try:
            tmp.unlink(missing_ok=True)
            db = cls._connect(tmp)
        except (OSError, sqlite3.Error) as e:
            raise ImageError(f"{path}: cannot create a disk image: {e}") from None
        with db:
            db.execute("BEGIN")
            db.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT)")
            db.execute("CREATE TABLE block(number INTEGER PRIMARY KEY, data BLOB NOT NULL)")
            meta = dict(image.meta, block_size=image.block_size, block_count=len(image.blocks),
                        store_schema=SCHEMA_VERSION)
            db.execute("INSERT INTO meta VALUES('image', ?)", (json.dumps(meta, sort_keys=True),))
            db.executemany("INSERT INTO block VALUES(?, ?)",
                           ((n, bytes(b)) for n, b in enumerate(image.blocks)))
        db.close()
        tmp.replace(path)
        return cls.open(path)

    @classmethod
    def open(cls, path):
        if not is_disk_image(path):
            raise ImageError(f"{path}: not a blocktalk disk image (expected an SQLite file)")
        try:
            return cls(path, cls._connect(path))
        except sqlite3.DatabaseError as e:
            raise ImageError(f"{path}: unreadable disk image: {e}") from None

    def read_block(self, number):
        row = self.db.execute("SELECT data FROM block WHERE number=?", (number,)).fetchone()
        if row is None:
            raise KeyError(f"no block {number}")
        data = row[0]
        if len(data) != self.block_size or B.header_word(data, F.BH_BLOCK_NUMBER) != number:
            raise ImageError(f"{self.path}: block {number} is damaged")
        self.reads += 1
        return bytes(data)

    def write_block(self, number, data):
        """Into the open transaction: visible to this session, durable at :meth:`save`."""
        self.db.execute("INSERT OR REPLACE INTO block VALUES(?, ?)", (number, bytes(data)))
        self.writes += 1

    def save(self, count, meta=None):
        """Commit every block written since the last save, with the block count
        (and ``meta``) last, then start the next transaction."""
        if meta is not None:
            self.meta = dict(meta)
        self.meta.update(block_size=self.block_size, block_count=count,
                         store_schema=SCHEMA_VERSION)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES('image', ?)",
                        (json.dumps(self.meta, sort_keys=True),))
        self.db.execute("COMMIT")
        self.count = count
        self.db.execute("BEGIN IMMEDIATE")

    def close(self):
        """Drop what was not saved."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
        self.db.close()
