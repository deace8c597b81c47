"""ShapeCheck's byte-level bounds never hide a breach: on generated documents near every
limit, it refuses exactly what asking libxml2 about every fact refuses."""

from __future__ import annotations

import collections
import dataclasses
import random

import pytest
from lxml import etree

from soap_service.faults import ServiceFault
from soap_service.frontdoor import xml_limits
from soap_service.frontdoor.xml_guard import safe_parser
from soap_service.frontdoor.xml_limits import ShapeCheck, XmlLimits

LIMITS = XmlLimits(depth=6, elements=40, attributes=4, namespaces=3, name_length=12,
                   text_length=30)


def _reference(root: etree._Element) -> str | None:
    """Which limit the document breaks, found by walking the whole tree (no shortcuts)."""
    nodes = [*root.itersiblings(preceding=True), *root.iter(), *root.itersiblings()]
    if any(isinstance(n, etree._ProcessingInstruction) for n in nodes):
        return "pi"
    elements = [n for n in nodes if isinstance(n.tag, str)]
    if len(elements) > LIMITS.elements:
        return "elements"
    if any(len(list(e.iterancestors())) >= LIMITS.depth for e in elements):
        return "depth"
    if any(len(e.attrib) > LIMITS.attributes for e in elements):
        return "attributes"
    # XPath's name(): the qualified name, as written.
    names = [f"{e.prefix}:{etree.QName(e).localname}" if e.prefix else etree.QName(e).localname
             for e in elements]
    names += [_attribute_name(e, a) for e in elements for a in e.attrib]
    if any(len(n) > LIMITS.name_length for n in names):
        return "name-length"
    return None


def _attribute_name(element: etree._Element, key: str) -> str:
    """An attribute's qualified name as written (the documents bind each URI to one prefix)."""
    name = etree.QName(key)
    if name.namespace is None:
        return name.localname
    prefix = next(p for p, uri in element.nsmap.items() if uri == name.namespace and p)
    return f"{prefix}:{name.localname}"


def _document(rng: random.Random) -> bytes:
    """A small document that may break any one limit (or several, or none)."""
    head = rng.choice(["", '<?xml version="1.0"?>', '<?xml\tversion="1.0"?>',
                       '<?xml-stylesheet href="a"?>'])
    max_depth = rng.choice([2, 5, 6, 8])
    width = rng.choice([1, 2, 3])
    budget = [rng.choice([10, 45])]  # elements still to write

    def element(depth: int, children: int) -> str:
        budget[0] -= 1
        name = rng.choice(["a", "b", "p:c", "n" * rng.choice([3, 12, 13, 20])])
        attrs = " ".join(f'k{i}="{rng.choice(["v", "x=y=z", "&lt;w"])}"'
                         for i in range(rng.choice([0, 1, 4, 5])))
        if depth < max_depth and budget[0] > 0:
            inner = "".join(element(depth + 1, width) for _ in range(children)
                            if budget[0] > 0)
        else:
            inner = rng.choice(["t", "<![CDATA[<<</x</y>]]>", "<!-- <?pi?> -->", "a=b",
                                "<?pi data?>", "x" * rng.choice([5, 31])])
        decl = ' xmlns:p="urn:p"' if name.startswith("p:") else ""
        return f"<{name}{decl}{' ' + attrs if attrs else ''}>{inner}</{name}>"

    return (head + element(0, rng.choice([width, 50]))).encode()


@pytest.mark.parametrize("seed", range(6))
def test_bounds_refuse_exactly_what_a_full_walk_refuses(seed: int) -> None:
    rng = random.Random(seed)
    check = ShapeCheck(LIMITS)
    seen = set()
    for _ in range(300):
        data = _document(rng)
        parser = safe_parser()
        root = etree.fromstring(data, parser)
        expected = _reference(root)
        try:
            check.check(root, data)
            got = None
        except ServiceFault as fault:
            got = "pi" if "processing" in fault.message else fault.detail["limit"]
        if got in ("text-length", "namespaces"):
            continue  # limits without a shortcut (their own tests in test_xml_guard.py)
        assert got == expected, data
        seen.add(got)
    assert {"pi", "elements", "depth", None} <= seen


# Declarations are not counted here (their prefixes have their own check, not a bound).
NAME_LIMITS = dataclasses.replace(LIMITS, text_length=1000, namespaces=1000)


def _named_document(rng: random.Random) -> bytes:
    """A document that breaks no limit but, perhaps, the name length: names, prefixes and
    attribute names either side of it, beside long values, namespace URIs and texts (cut by
    "/" or not) that make the "<" runs long without being names."""
    limit = NAME_LIMITS.name_length

    def name(prefixes: list[str]) -> str:
        if not prefixes or rng.random() < 0.5:
            return "n" * rng.choice([1] * 8 + [limit - 2, limit - 1, limit] * 2 + [limit + 1])
        return f"{rng.choice(prefixes)}:{'n' * rng.choice([1, 2])}"

    def value() -> str:
        return rng.choice(["v", "a/b", "u" * (limit + 5), "u/" * limit, "x" * 3 * limit,
                           "http://example.org/" + "seg/" * 6, "k=" + "w" * limit])

    def element(depth: int) -> str:
        # Prefixed names of limit - 1, limit and limit + 1 characters (and longer ones).
        prefix = rng.choice(["", "", "p", "q" * (limit - 3), "q" * (limit + 1)])
        # One URI per prefix, so the reference can tell an attribute's prefix from its URI.
        decl = f' xmlns:{prefix}="{value()}/{len(prefix)}"' if prefix else ""
        tag = name([prefix] if prefix else [])
        attrs = "".join(f' {name([prefix] if prefix else [])}{i}="{value()}"'
                        for i in range(rng.choice([0, 1, 2])))
        inner = ("".join(element(depth + 1) for _ in range(rng.choice([1, 2])))
                 if depth < 3 and rng.random() < 0.7 else rng.choice(["t", value()]))
        return f"<{tag}{decl}{attrs}>{inner}</{tag}>"

    return element(0).encode()


@pytest.mark.parametrize("seed", range(4))
def test_name_bound_refuses_exactly_what_a_full_walk_refuses(seed: int) -> None:
    rng = random.Random(seed)
    check = ShapeCheck(NAME_LIMITS)
    seen = collections.Counter()
    for _ in range(600):
        data = _named_document(rng)
        runs = data.split(b"<")
        # The case the bound is for: "<" runs longer than the limit, yet no name that long.
        if (max(map(len, runs)) > NAME_LIMITS.name_length
                and not xml_limits._may_hold_long_name(runs, NAME_LIMITS.name_length)):
            seen["shortcut"] += 1
        root = etree.fromstring(data, safe_parser())
        expected = _reference(root)
        assert expected in (None, "name-length"), data
        try:
            check.check(root, data)
            got = None
        except ServiceFault as fault:
            got = fault.detail["limit"]
        assert got == expected, data
        seen[got] += 1
    assert seen[None] > 40 and seen["name-length"] > 40 and seen["shortcut"] > 20, seen
