import pytest

from metrics_server.query.selectors import parse_selector


@pytest.mark.parametrize("text, expected", [
    ("cpu", ("cpu", {})),
    ("cpu{}", ("cpu", {})),
    ('cpu{host="a"}', ("cpu", {"host": ["a"]})),
    ('cpu{host="a",host="b", dc="eu"}', ("cpu", {"host": ["a", "b"], "dc": ["eu"]})),
    ('net.in:bytes{path="/a,b"}', ("net.in:bytes", {"path": ["/a,b"]})),
    (r'x{q="say \"hi\""}', ("x", {"q": ['say "hi"']})),
])
def test_parses_names_and_filters(text, expected):
    assert parse_selector(text) == expected


@pytest.mark.parametrize("text", ["", "9cpu", "cpu{host=a}", 'cpu{host="a"', 'cpu{="a"}', 'cpu{host="a" dc="b"}'])
def test_rejects_malformed_selectors(text):
    with pytest.raises(ValueError):
        parse_selector(text)
