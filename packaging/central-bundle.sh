#!/usr/bin/env bash
# Lays out Maven artifacts as a Maven Central Portal upload bundle: each file under
# GROUP/ARTIFACT/VERSION/ of the Maven repository layout, with .md5 and .sha1 checksums and,
# unless --unsigned, an ASCII-armoured gpg signature (.asc), all zipped into one file that
# the Portal's upload API takes (the release workflow posts it; see
# .github/workflows/release.yml).
#
#   packaging/central-bundle.sh [--unsigned] OUT.zip POM [FILE]...
#
# POM names the coordinates (its groupId, artifactId and version; the groupId may come from
# its parent); each FILE is an artifact of those coordinates, named ARTIFACT-VERSION[-CLASSIFIER].EXT
# (the jar, -sources.jar, -javadoc.jar, an .aar). Several bundles' directories can be merged
# by calling this once per POM with the same OUT.zip: files are added to it.
#
# Signing uses the default gpg key (GPG_PASSPHRASE, if set, unlocks it non-interactively).
set -euo pipefail

signed=true
if [ "${1:-}" = --unsigned ]; then
  signed=false
  shift
fi
[ $# -ge 2 ] || { echo "usage: $0 [--unsigned] OUT.zip POM [FILE]..." >&2; exit 2; }
out="$(realpath -m "$1")"
pom="$2"
shift 2

for tool in python3 zip md5sum sha1sum; do
  command -v "$tool" >/dev/null || { echo "central-bundle: $tool is missing" >&2; exit 1; }
done
if $signed; then
  command -v gpg >/dev/null || { echo "central-bundle: gpg is missing (or pass --unsigned)" >&2; exit 1; }
fi

# groupId, artifactId and version of the POM, one a line.
read_coordinates() {
  python3 - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET

ns = {"m": "http://maven.apache.org/POM/4.0.0"}
project = ET.parse(sys.argv[1]).getroot()

def field(name):
    value = project.findtext(f"m:{name}", namespaces=ns)
    return value if value is not None else project.findtext(f"m:parent/m:{name}", namespaces=ns)

for name in ("groupId", "artifactId", "version"):
    value = field(name)
    if not value or "${" in value:
        sys.exit(f"central-bundle: {sys.argv[1]} has no literal {name}")
    print(value)
PY
}

mapfile -t coordinates < <(read_coordinates "$pom")
[ "${#coordinates[@]}" = 3 ] || exit 1
group="${coordinates[0]}" artifact="${coordinates[1]}" version="${coordinates[2]}"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
dir="$stage/${group//.//}/$artifact/$version"
mkdir -p "$dir"
cp "$pom" "$dir/$artifact-$version.pom"
for file in "$@"; do
  name="$(basename "$file")"
  case "$name" in
    "$artifact-$version".* | "$artifact-$version"-*) ;;
    *) echo "central-bundle: $name is not named ${artifact}-${version}[-CLASSIFIER].EXT" >&2; exit 1 ;;
  esac
  cp "$file" "$dir/$name"
done

for file in "$dir"/*; do
  md5="$(md5sum <"$file")" sha1="$(sha1sum <"$file")"
  printf '%s' "${md5%% *}" >"$file.md5"
  printf '%s' "${sha1%% *}" >"$file.sha1"
  if $signed; then
    gpg --batch --yes --armor --detach-sign ${GPG_PASSPHRASE:+--pinentry-mode loopback --passphrase "$GPG_PASSPHRASE"} \
      --output "$file.asc" "$file"
  fi
done

(cd "$stage" && zip -qr "$out" .)
echo "central-bundle: $group:$artifact:$version ($(find "$dir" -type f | wc -l) files) in $out" >&2
