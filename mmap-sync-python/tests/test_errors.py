"""The exceptions: one base class, a subclass per kind, each carrying `kind` and `path`."""

import mmap_sync

KINDS = [
    "NotPublished",
    "WriterExists",
    "SchemaMismatch",
    "Corrupt",
    "Incompatible",
    "ReadersFull",
    "WriterBlocked",
    "TooLarge",
    "InvalidValue",
    "Superseded",
    "Forked",
    "NoStructure",
    "Io",
    "Released",
]


def test_every_kind_is_a_subclass_of_the_one_base_class():
    assert issubclass(mmap_sync.Error, Exception)
    for kind in KINDS:
        cls = getattr(mmap_sync, kind)
        assert issubclass(cls, mmap_sync.Error), kind
        assert cls.__name__ == kind
        assert cls.__module__ == "mmap_sync"


def test_the_package_reports_its_version():
    assert mmap_sync.__version__.startswith("3.")
