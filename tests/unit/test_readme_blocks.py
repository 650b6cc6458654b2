"""The markers that tell the README test which blocks to run (tests/support/readme_blocks.py), and that the README
still carries them: a restructured README that lost one fails here, in milliseconds, not in the end-to-end run."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.readme_blocks import MarkerError, for_local_warehouse, queries, shell_steps

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")

SAMPLE = """# Title

```sh readme-test=20
make debug
```

```sh
make deploy
```

```sh readme-test=10
make venv
cp a b
```

```sql readme-test=query
-- 1. First
SELECT count(*) FROM s3_objects;

-- 2. Second
SELECT key
FROM s_3_objects JOIN s_3_object_versions USING (bucket, key) WHERE x = ';';
```

```sql
SELECT 1 FROM s3_objects;
```
"""


def test_shell_steps_run_in_marker_order_whatever_the_section_order():
    steps = shell_steps(SAMPLE)
    assert [(s.order, s.body, s.line) for s in steps] == [(10, "make venv\ncp a b\n", 11), (20, "make debug\n", 3)]


def test_queries_are_the_statements_of_marked_sql_blocks_with_their_titles():
    assert [title for title, _ in queries(SAMPLE)] == ["1. First", "2. Second"]
    assert queries(SAMPLE)[1][1].endswith("WHERE x = ';'")


@pytest.mark.parametrize("sql, local", [
    pytest.param("SELECT 1 FROM s_3_objects", "SELECT 1 FROM tester.s_3_objects", id="fivetran-naming"),
    pytest.param("SELECT 1 FROM s3_objects", "SELECT 1 FROM tester.s3_objects", id="source-naming"),
    pytest.param("select 1 from\n  s3_object_versions v join s3_objects o using (key)",
                 "select 1 from\n  tester.s3_object_versions v join tester.s3_objects o using (key)",
                 id="versions-join-lowercase"),
    pytest.param("SELECT s3_objects_count FROM s3_objects_archive", "SELECT s3_objects_count FROM s3_objects_archive",
                 id="other-names-untouched"),
])
def test_tables_are_put_in_the_local_schema(sql, local):
    assert for_local_warehouse(sql, "tester") == local


@pytest.mark.parametrize("text, error", [
    pytest.param("```sh readme-test=1\na\n```\n```sh readme-test=1\nb\n```\n", "marks two blocks", id="same-order"),
    pytest.param("```sh readme-test=first\na\n```\n", "neither a number", id="not-a-number"),
])
def test_markers_the_test_cannot_follow_are_refused(text, error):
    with pytest.raises(MarkerError, match=error):
        shell_steps(text)


def test_the_readme_marks_the_newcomer_path_and_its_queries():
    """What a new user runs, in order: the demo; then for their bucket the virtual environment and a configuration,
    the setup tests, a first sync and a look at the table; and the SQL examples, which name the tables as source
    naming (the Makefile's) keeps them."""
    commands = [line.split("#", 1)[0].strip() for step in shell_steps(README) for line in step.body.splitlines()]
    for expected in ("make demo", "make venv", "cp configuration.json.example configuration.json", "make debug",
                     "make configuration-test"):
        assert expected in commands
    assert commands.index("make demo") < commands.index("make venv") < commands.index("make configuration-test") \
        < commands.index("make debug") < next(i for i, c in enumerate(commands) if "tester.s3_objects" in c)
    assert len(queries(README)) >= 18
    assert not [title for title, sql in queries(README) if "s_3_" in sql]
