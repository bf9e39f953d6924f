#!/usr/bin/env bash
# Tests packaging/central-bundle.sh: a jar, its sources and an AAR of two coordinates are
# laid out in one bundle in Maven's repository layout, each with checksums that match and a
# gpg signature that verifies (a throwaway key in a temporary GNUPGHOME); a file named for
# other coordinates is refused. Run by `make check-packaging`.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bundle="$repo/packaging/central-bundle.sh"
work="$(mktemp -d)"
trap 'gpgconf --homedir "$work/gnupg" --kill all 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "central-bundle test: $*" >&2; exit 1; }

export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Ferrio test <test@ferrio.invalid>' ed25519 sign never

cat >"$work/jar.pom" <<'POM'
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.ferrio</groupId>
  <artifactId>ferrio</artifactId>
  <version>9.8.7</version>
</project>
POM
cat >"$work/aar.pom" <<'POM'
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent><groupId>dev.ferrio</groupId><artifactId>parent</artifactId><version>1</version></parent>
  <artifactId>ferrio-android</artifactId>
  <version>9.8.7</version>
  <packaging>aar</packaging>
</project>
POM
echo jar >"$work/ferrio-9.8.7.jar"
echo sources >"$work/ferrio-9.8.7-sources.jar"
echo aar >"$work/ferrio-android-9.8.7.aar"

"$bundle" "$work/bundle.zip" "$work/jar.pom" "$work/ferrio-9.8.7.jar" "$work/ferrio-9.8.7-sources.jar"
"$bundle" "$work/bundle.zip" "$work/aar.pom" "$work/ferrio-android-9.8.7.aar"

mkdir "$work/out"
(cd "$work/out" && unzip -q "$work/bundle.zip")
expected=(
  dev/ferrio/ferrio/9.8.7/ferrio-9.8.7.pom
  dev/ferrio/ferrio/9.8.7/ferrio-9.8.7.jar
  dev/ferrio/ferrio/9.8.7/ferrio-9.8.7-sources.jar
  dev/ferrio/ferrio-android/9.8.7/ferrio-android-9.8.7.pom
  dev/ferrio/ferrio-android/9.8.7/ferrio-android-9.8.7.aar
)
for file in "${expected[@]}"; do
  path="$work/out/$file"
  [ -f "$path" ] || fail "$file is missing from the bundle"
  [ "$(cat "$path.md5")" = "$(md5sum <"$path" | cut -d' ' -f1)" ] || fail "$file.md5 is wrong"
  [ "$(cat "$path.sha1")" = "$(sha1sum <"$path" | cut -d' ' -f1)" ] || fail "$file.sha1 is wrong"
  gpg --batch --quiet --verify "$path.asc" "$path" 2>/dev/null || fail "$file.asc does not verify"
done
count="$(find "$work/out" -type f | wc -l)"
[ "$count" = $((${#expected[@]} * 4)) ] || fail "the bundle has $count files, not $((${#expected[@]} * 4))"

echo other >"$work/other-1.0.jar"
if "$bundle" "$work/refused.zip" "$work/jar.pom" "$work/other-1.0.jar" 2>/dev/null; then
  fail "a file of other coordinates was bundled"
fi
echo "central-bundle: 5 artifacts of 2 coordinates bundled, checksums and signatures verified"
