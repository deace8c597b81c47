"""element_ids (one XPath walk) finds exactly what a walk asking every element for each of
ID_ATTRIBUTES finds, on documents with every kind of id attribute and near misses."""

from __future__ import annotations

import random

from lxml import etree

from soap_service.faults import WSU_NS
from soap_service.security.wsxml import ID_ATTRIBUTES, XML_NS, element_ids

OTHER_NS = "urn:example:other"
NEAR_MISSES = (f"{{{OTHER_NS}}}Id", f"{{{WSU_NS}}}id", f"{{{WSU_NS}}}ID", "iD", "Ids",
               f"{{{XML_NS}}}Id", f"{{{XML_NS}}}lang")


def _reference(root: etree._Element) -> dict[str, list[etree._Element]]:
    found: dict[str, list[etree._Element]] = {}
    for element in root.iter(etree.Element):
        for attribute in ID_ATTRIBUTES:
            value = element.get(attribute)
            if value is not None:
                found.setdefault(value, []).append(element)
    return found


def _document(rng: random.Random) -> etree._Element:
    root = etree.Element("{urn:t}root", nsmap={"wsu": WSU_NS, "o": OTHER_NS})
    elements = [root]
    for _ in range(rng.randint(1, 40)):
        parent = rng.choice(elements)
        child = etree.SubElement(parent, rng.choice(["{urn:t}a", "b", f"{{{WSU_NS}}}c"]))
        if rng.random() < 0.2:
            parent.append(etree.Comment("c"))
        for name in rng.sample(ID_ATTRIBUTES + NEAR_MISSES, rng.randint(0, 3)):
            child.set(name, rng.choice(["x", "y", "z", f"v{rng.randint(0, 9)}", ""]))
        elements.append(child)
    return root


def test_same_ids_and_elements_as_asking_every_element() -> None:
    rng = random.Random(17)
    for _ in range(400):
        root = _document(rng)
        for start in (root, rng.choice(list(root.iter(etree.Element)))):
            ours = element_ids(start)
            reference = _reference(start)
            assert ours.keys() == reference.keys()
            for value, elements in reference.items():
                assert sorted(map(id, ours[value])) == sorted(map(id, elements))


def test_parsed_envelope_with_text_ids() -> None:
    text = (f'<e xmlns:wsu="{WSU_NS}"><h wsu:Id="ts" /><b Id="body"><i xml:id="n" ID="m" '
            f'id="k" /></b></e>')
    root = etree.fromstring(text)
    assert {key: [el.tag for el in els] for key, els in element_ids(root).items()} == {
        "ts": ["h"], "body": ["b"], "n": ["i"], "m": ["i"], "k": ["i"]}
