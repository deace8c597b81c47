"""ShapeCheck's byte-level bounds never hide a breach: on generated documents near every
limit, it refuses exactly what asking libxml2 about every fact refuses."""

from __future__ import annotations

import random

import pytest
from lxml import etree

from soap_service.faults import ServiceFault
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
    names += [etree.QName(a).localname for e in elements for a in e.attrib]
    if any(len(n) > LIMITS.name_length for n in names):
        return "name-length"
    return None


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
