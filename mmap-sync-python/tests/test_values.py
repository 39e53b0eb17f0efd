"""Values read as the writer published them (through the JSON mapping), and lazily."""

import time

import pytest

import mmap_sync


def normalized(value, sets=()):
    """`to_python()`'s value in the shape of the writer's JSON: map keys as strings (serde_json
    writes integer keys so), bytes as lists of integers, and the lists of set fields sorted
    (a HashSet's order is the archive's here, Rust's random order there)."""
    if isinstance(value, dict):
        return {
            str(key): sorted(normalized(item)) if key in sets else normalized(item)
            for key, item in value.items()
        }
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if isinstance(value, (list, tuple)):
        return [normalized(item) for item in value]
    return value


def test_hello_world_reads_as_the_writer_published_it(channels):
    path, generation = channels.publish("hello", "hello")
    reader = mmap_sync.Reader(path)
    assert reader.generation == generation == reader.validated_generation
    with reader.read() as view:
        assert view.generation == generation
        assert view.to_python() == channels.expected("hello")
        assert view["version"] == 7
        assert list(view["messages"]) == ["Hello", "World", "!"]


def test_every_shape_reads_as_its_json_mapping(channels):
    path, _ = channels.publish("kinds", "kinds")
    expected = channels.expected("kinds")
    with mmap_sync.Reader(path).read() as view:
        value = view.to_python()
    # The two liberties the mapping takes: byte lists are bytes, map keys keep their type.
    assert value["bytes"] == bytes([0, 1, 2, 127, 128, 255])
    assert value["by_number"] == {3: "three", 10: "ten"}
    expected["hash_set"].sort()
    assert normalized(value, sets={"hash_set"}) == expected
    # Exact at the edges: 128-bit integers, chars outside the BMP, tiny doubles.
    assert value["huge"] == 2**128 - 1
    assert value["signed_huge"] == -(2**127)
    assert value["letter"] == "🦀"
    assert value["double"] == -2.25e-300


def test_a_table_of_a_thousand_routes_reads_as_published(channels):
    path, _ = channels.publish("routing", "routing", 1000)
    with mmap_sync.Reader(path).read() as view:
        assert view.to_python() == channels.expected("routing")


def test_a_map_with_integer_keys_keeps_them_and_looks_them_up(channels):
    path, _ = channels.publish("features", "features", 50, 4)
    expected = channels.expected("features")
    with mmap_sync.Reader(path).read() as view:
        features = view["features"]
        assert len(features) == 50
        assert sorted(features.keys()) == list(range(50))
        assert list(features[7]) == expected["features"]["7"]
        assert 49 in features and 50 not in features and "7" not in features
        with pytest.raises(KeyError):
            features[50]
        assert normalized(view.to_python()) == expected


def test_parts_are_read_lazily_as_views_and_scalars(channels):
    path, _ = channels.publish("routing", "routing", 5)
    with mmap_sync.Reader(path).read() as view:
        assert view.kind == "struct"
        assert view.keys() == ["version", "routes", "fallback", "settings"]
        assert "routes" in view and "nope" not in view
        routes = view["routes"]
        assert isinstance(routes, mmap_sync.View)
        assert (routes.kind, routes.type_name, len(routes)) == ("list", "Vec<Route>", 5)
        route = routes[-1]
        assert route["prefix"] == "/service/4"
        assert route["upstreams"][2]["port"] == 8002
        assert [u["weight"] for u in route["upstreams"]] == [1, 2, 3]
        assert [r["prefix"] for r in routes[1:4:2]] == ["/service/1", "/service/3"]
        # Enums as serde writes them: unit variants by name, others {variant: payload}.
        assert routes[0]["policy"] == "RoundRobin"
        policy = routes[2]["policy"]
        assert (policy.kind, policy.variant, policy.keys()) == ("enum", "HashHeader", ["HashHeader"])
        assert policy["HashHeader"]["header"] == "x-user-id"
        assert policy.to_python() == {"HashHeader": {"header": "x-user-id"}}
        # Option: None or the value; maps by key; get() with a default.
        assert view["fallback"]["host"] == "fallback.internal"
        assert view["settings"]["retry.max"] == "3"
        assert dict(view["settings"].items()) == {"retry.backoff_ms": "50", "retry.max": "3"}
        assert view["settings"].get("nope", "default") == "default"
        assert view.at("routes[3].upstreams[1].host") == "backend-3-1.internal"
        assert view.at('settings["retry.max"]') == "3"
        # Wrong questions are Python's own errors.
        with pytest.raises(KeyError):
            view["nope"]
        with pytest.raises(IndexError):
            routes[5]
        with pytest.raises(TypeError):
            routes["prefix"]
        with pytest.raises(KeyError):
            view[0]  # a mapping, whose keys are field names


def test_every_kind_of_part_answers_len_iteration_and_indexing(channels):
    path, _ = channels.publish("kinds", "kinds")
    with mmap_sync.Reader(path).read() as view:
        assert view["unit"] is None and view["none"] is None and view["marker"] is None
        assert view["some"] == "present" and view["boxed"] == 42 and view["meters"] == 12.5
        assert list(view["tuple"]) == [1, "two", 3.0]
        assert list(view["pair"]) == [2, "second"] and view["pair"].kind == "tuple struct"
        assert list(view["array"]) == [7, 8, 9]
        assert [list(inner) for inner in view["nested"]] == [[], [1], [2, 3]]
        assert sorted(view["hash_set"]) == [5, 6, 7] and 6 in view["hash_set"]
        assert list(view["btree_set"]) == ["x", "y"] and "z" not in view["btree_set"]
        assert view["by_name"]["beta"] == 2 and view["by_number"][10] == "ten"
        shapes = view["shapes"]
        assert shapes[0] == "Empty"
        assert shapes[1]["Circle"] == 0.5
        assert list(shapes[2]["Segment"]) == [-1, 1]
        assert dict(shapes[3]["Rect"].items()) == {"width": 3, "height": 4}


def test_one_field_of_a_large_table_is_read_without_converting_the_rest(channels):
    path, _ = channels.publish("routing", "routing", 100_000)
    reader = mmap_sync.Reader(path)
    with reader.read() as view:
        started = time.perf_counter()
        for _ in range(1000):
            view["version"]
            view["routes"][99_999]["prefix"]
        lazy = (time.perf_counter() - started) / 1000
        started = time.perf_counter()
        whole = view.to_python()
        converted = time.perf_counter() - started
    assert len(whole["routes"]) == 100_000
    # Orders of magnitude apart: the lazy reads touch a few values, the conversion them all.
    assert lazy * 100 < converted, (lazy, converted)
