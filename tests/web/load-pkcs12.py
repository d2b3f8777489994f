"""Opens a PKCS#12 file with python cryptography and prints what it holds, as JSON.

usage: load-pkcs12.py FILE PASSPHRASE_UTF8_HEX
"""

import json
import sys

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, pkcs12

with open(sys.argv[1], "rb") as f:
    data = f.read()
bundle = pkcs12.load_pkcs12(data, bytes.fromhex(sys.argv[2]))
spki = lambda key: key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo).hex()
print(
    json.dumps(
        {
            "keySpki": spki(bundle.key.public_key()),
            "certSpki": spki(bundle.cert.certificate.public_key()),
            "certDer": bundle.cert.certificate.public_bytes(Encoding.DER).hex(),
            "friendlyName": bundle.cert.friendly_name.decode("utf-8") if bundle.cert.friendly_name else None,
            "additionalCerts": [c.certificate.public_bytes(Encoding.DER).hex() for c in bundle.additional_certs],
        }
    )
)
