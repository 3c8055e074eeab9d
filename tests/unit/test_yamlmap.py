from app.yamlmap import MAX_BYTES, decode, load_documents, parse_path


def test_positions_for_nested_fields_and_list_items():
    parsed = load_documents("a: 1\nb:\n  c:\n    - x: 1\n    - y: 2\n---\nkind: Pod\n")
    first, second = parsed.documents
    assert first.positions[("b", "c")] == (3, 3)
    assert first.positions[("b", "c", 1, "y")][0] == 5
    assert first.locate(("b", "c", 7, "missing")) == (3, 3)
    assert second.start_line == 7 and second.kind == "Pod"
    assert not parsed.problems


def test_tab_indentation_is_located_and_explained():
    parsed = load_documents("spec:\n\treplicas: 3\n")
    (problem,) = parsed.problems
    assert problem.line == 2
    assert "tab" in problem.message and "spaces" in problem.message


def test_unclosed_quote_names_where_it_started():
    parsed = load_documents('a: 1\nb: "unclosed\nc: 2\n')
    (problem,) = parsed.problems
    assert "quoted scalar" in problem.message and "line 2" in problem.message


def test_bad_indentation_keeps_earlier_documents():
    parsed = load_documents("kind: A\n---\na:\n  b: 1\n c: 2\n")
    assert [d.kind for d in parsed.documents] == ["A"]
    assert parsed.problems[0].line == 5


def test_duplicate_keys_are_reported():
    parsed = load_documents("metadata:\n  name: a\n  name: b\n")
    assert parsed.problems[0].line == 3
    assert "duplicate key 'name'" in parsed.problems[0].message


def test_alias_bomb_is_refused_quickly():
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    parsed = load_documents("\n".join(lines) + "\n")
    assert parsed.documents == []
    assert "alias bomb" in parsed.problems[0].message


def test_decode_refuses_oversize_and_non_utf8():
    text, problem = decode(b"a" * (MAX_BYTES + 1))
    assert text is None and problem is not None and "1 MiB" in problem.message
    text, problem = decode(b"a: 1\nb: \xff\n")
    assert text is None and problem is not None
    assert (problem.line, problem.column) == (2, 4)
    assert decode(b"\xef\xbb\xbfa: 1\n")[0] == "a: 1\n"


def test_parse_path_quoted_keys_and_wildcards():
    assert parse_path('spec.containers[*].resources.limits["nvidia.com/gpu"]') == [
        "spec",
        "containers",
        "*",
        "resources",
        "limits",
        "nvidia.com/gpu",
    ]
    assert parse_path("a[2].b") == ["a", 2, "b"]


def test_merge_keys_are_not_duplicates():
    parsed = load_documents("base: &b {x: 1, y: 2}\nnode:\n  <<: *b\n  y: 3\n")
    assert parsed.problems == []
    assert parsed.documents[0].data["node"] == {"x": 1, "y": 3}
    assert parsed.documents[0].positions[("node", "y")] == (4, 3)
