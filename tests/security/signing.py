"""Hand-made signatures for negative tests: any references, algorithms and transforms."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import xmlsec
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from xmlsec import constants as xc

from client.wsse import BASE64_BINARY, WSSE_NS, WSU_NS, X509V3, TimestampSigner, security_header
from tests.security.pki import Issued

WSSE = f"{{{WSSE_NS}}}"
WSU = f"{{{WSU_NS}}}"
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"


def sign(
    root: etree._Element,
    signer: Issued,
    *,
    cover: Sequence[str] = ("body", "timestamp"),
    uris: Sequence[str] = (),
    sign_method: object = xc.TransformRsaSha256,
    digest_method: object = xc.TransformSha256,
    transforms: Sequence[object] = (xc.TransformExclC14N,),
    timestamp: bool = True,
) -> etree._Element:
    """Sign `root` in place: `cover` names nodes to reference by wsu:Id, `uris` adds raw URIs."""
    security = security_header(root)
    if timestamp and security.find(WSU + "Timestamp") is None:
        TimestampSigner().apply(root, {})
    nodes = {"body": root.find(SOAP + "Body"), "timestamp": security.find(WSU + "Timestamp")}
    token = etree.SubElement(
        security, WSSE + "BinarySecurityToken", EncodingType=BASE64_BINARY, ValueType=X509V3
    )
    token.set(WSU + "Id", "X509-1")
    token.text = base64.b64encode(signer.cert.public_bytes(Encoding.DER)).decode()
    signature = xmlsec.template.create(root, xc.TransformExclC14N, sign_method, ns="ds")
    targets = []
    for name in cover:
        node = nodes[name]
        assert node is not None
        ident = node.get(WSU + "Id") or f"id-{name}"
        node.set(WSU + "Id", ident)
        targets.append(node)
        reference = xmlsec.template.add_reference(signature, digest_method, uri="#" + ident)
        for transform in transforms:
            xmlsec.template.add_transform(reference, transform)
    for uri in uris:
        xmlsec.template.add_reference(signature, digest_method, uri=uri)
    key_info = xmlsec.template.ensure_key_info(signature)
    holder = etree.SubElement(key_info, WSSE + "SecurityTokenReference")
    etree.SubElement(holder, WSSE + "Reference", URI="#X509-1", ValueType=X509V3)
    security.append(signature)
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(signer.key_pem, xc.KeyDataFormatPem, None)
    for node in targets:
        ctx.register_id(node, "Id", WSU_NS)
    ctx.sign(signature)
    return etree.fromstring(etree.tostring(root))
