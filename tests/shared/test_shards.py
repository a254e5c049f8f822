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


def test_the_targets_that_choose_their_own_markers_leave_out_the_same_suites_as_the_default():
    """`-m` on the command line replaces addopts' `-m`: a target that passes one (make test-clock, test-fast)
    must leave out the suites with targets of their own by itself, or test-clock would run the whole demo and
    the image build at each of its instants."""
    import re
    import tomllib

    repo = REPO
    addopts = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    by_default = set(re.findall(r"not (\w+)", re.search(r"-m '([^']*)'", addopts).group(1)))
    makefile = (repo / "Makefile").read_text()
    own = set(re.search(r"^OWN_TARGETS := (.*)$", makefile, re.M).group(1).split(" or "))
    assert own == by_default
    for target in ("test-clock", "test-fast"):
        recipe = makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]
        assert "not ($(OWN_TARGETS))" in recipe, target
