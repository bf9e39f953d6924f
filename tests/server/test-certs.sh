#!/usr/bin/env bash
# Writes throw-away TLS material for the bindings' TLS tests into DIR (created if needed):
#   ca.pem                   a CA certificate (the CA key is deleted once it signed)
#   server.pem, server-key.pem  a server certificate for localhost and 127.0.0.1
#   client.pem, client-key.pem  a client certificate (mutual TLS), key in PKCS#8
#   ca.pin, server.pin       `sha256/<base64>` pins of the CA's and the server's public keys
#   other.pin                the pin of a key in no chain (a mismatch)
# The reference server takes them as {"tls": {"cert": DIR/server.pem, "key":
# DIR/server-key.pem, "clientCa": DIR/ca.pem}} (clientCa for mutual TLS only).
# The Rust tests generate theirs with rcgen (tests/integration/src/tls.rs).
#
# Usage: tests/server/test-certs.sh DIR     (needs the openssl command: apt-get install openssl)
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
command -v openssl >/dev/null 2>&1 || {
  echo "test-certs.sh: the openssl command is missing (apt-get install openssl)" >&2
  exit 1
}
dir="$1"
mkdir -p "$dir"
cd "$dir"

quiet() { "$@" 2>/dev/null || { echo "test-certs.sh: failed: $*" >&2; exit 1; }; }

key() { quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

pin() {
  printf 'sha256/%s\n' "$(openssl pkey -in "$1" -pubout -outform DER 2>/dev/null |
    openssl dgst -sha256 -binary | openssl base64 -A)"
}

key ca-key.pem
quiet openssl req -x509 -new -key ca-key.pem -out ca.pem -days 2 -subj "/CN=Ferrio test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

sign() { # name subject extensions...
  local name="$1" subject="$2"
  shift 2
  key "$name-key.pem"
  quiet openssl req -new -key "$name-key.pem" -subj "$subject" -out "$name.csr"
  printf '%s\n' "$@" >"$name.ext"
  quiet openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
    -days 2 -extfile "$name.ext" -out "$name.pem"
  rm -f "$name.csr" "$name.ext"
}

sign server "/CN=localhost" "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1"
sign client "/CN=Ferrio test client" "basicConstraints=CA:FALSE" \
  "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth"

pin ca-key.pem >ca.pin
pin server-key.pem >server.pin
key other-key.pem
pin other-key.pem >other.pin
rm -f ca-key.pem other-key.pem ca.srl
