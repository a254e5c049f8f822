"""`make test` runs the suite as shards (tests/shards.py): a file no shard claims would silently never run."""

from tests.shards import REPO, SHARDS, shard_of, suite_files


def test_every_test_file_belongs_to_exactly_one_shard():
    files = suite_files()
    assert len(files) > 50  # the suite itself, not an empty glob
    misplaced = {path: shard_of(path) for path in files if len(shard_of(path)) != 1}
    assert misplaced == {}


def test_every_shard_path_exists():
    missing = [path for paths in SHARDS.values() for path in paths if not (REPO / path).exists()]
    assert missing == []
